#!/usr/bin/env bash
# `make stress`: the docker-compose load test without Docker. Starts a release
# `luna run` on loopback (dry run, private data, the installed models), loads it with
# luna-loadgen (text, WAV uploads, WebSocket streams) for SECONDS, prints the report
# and `luna stats`, then stops the daemon and checks it shut down cleanly.
set -euo pipefail
seconds=${1:-60}
cd "$(dirname "$0")/.."
bin=target/release
data="${XDG_DATA_HOME:-$HOME/.local/share}/luna"
work=$(mktemp -d)
daemon=""
cleanup() {
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then kill -TERM "$daemon"; fi
  rm -rf "$work"
}
trap cleanup EXIT

espeak-ng -v en-us -w "$work/command.wav" "what time is it"

export XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config"
export LUNA_STT__MODEL_PATH="$data/models/ggml-tiny.en.bin"
export LUNA_WAKE__MODELS_DIR="$data/models/wake"
export LUNA_API__BIND=127.0.0.1:18765 LUNA_TELEMETRY__METRICS_ADDR=127.0.0.1:19464
export LUNA_AUDIO__INPUT=none LUNA_TTS__ENABLED=false LUNA_EXEC__DRY_RUN=true
"$bin/luna" run 2>"$work/luna.log" &
daemon=$!
for _ in $(seq 100); do
  if "$bin/luna" stats >/dev/null 2>&1; then break; fi
  kill -0 "$daemon" 2>/dev/null || { cat "$work/luna.log" >&2; exit 1; }
  sleep 0.1
done

status=0
"$bin/luna-loadgen" --api 127.0.0.1:18765 --metrics 127.0.0.1:19464 \
  --clients 8 --audio-clients 2 --streams 2 --wav "$work/command.wav" \
  --seconds "$seconds" || status=$?
echo
"$bin/luna" stats
kill -TERM "$daemon"
if ! wait "$daemon"; then
  echo "luna did not shut down cleanly:" >&2
  tail -20 "$work/luna.log" >&2
  status=1
fi
daemon=""
grep -E "panicked|ERROR" "$work/luna.log" >&2 && status=1
exit "$status"
