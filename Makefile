# LUNA — the two set-up commands are `make run` and `make test`.
# Both install the Debian packages they need (as root, or through sudo) when missing.

CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Build tools for the crates that compile C (SQLite is bundled).
BUILD_PACKAGES := build-essential pkg-config

.PHONY: deps run test bench lint fmt clean

deps:
	@command -v $(CARGO) >/dev/null || { echo "LUNA needs a Rust toolchain (cargo): see https://rustup.rs" >&2; exit 1; }
	@missing=""; \
	for p in $(BUILD_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

run: deps
	$(CARGO) build --release --bin luna
	./target/release/luna run

test: deps
	$(CARGO) test --workspace --doc
	$(CARGO) test --workspace --all-targets

bench: deps
	$(CARGO) bench --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
