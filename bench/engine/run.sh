#!/usr/bin/env bash
# Starts `agentsched engine` on a free loopback port, runs the streaming load generator
# against it, stops the engine with SIGTERM and checks that it exited 0.
# Usage: bench/engine/run.sh [BUILD_DIR] [load options...]
#   defaults: 2,000 concurrent streaming requests, 2,000-byte prompts, 64 output tokens,
#   engine at --time-scale 10 with the reference profile (override with ENGINE_ARGS).
set -euo pipefail
build=${1:-build}
shift || true
engine_args=${ENGINE_ARGS:---time-scale 10}
out=$(mktemp)
"$build/agentsched" engine --port 0 $engine_args >"$out" &
engine=$!
trap 'kill -9 $engine 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do
  grep -q '^listening on' "$out" && break
  sleep 0.1
done
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
[[ -n $port ]] || { echo "engine did not announce a port" >&2; exit 1; }
status=0
"$build/bench_engine_load" --port "$port" --concurrency 2000 "$@" || status=$?
kill -TERM $engine
engine_status=0
wait $engine || engine_status=$?
echo "engine exit status after SIGTERM: $engine_status"
trap - EXIT
rm -f "$out"
exit $((status != 0 || engine_status != 0))
