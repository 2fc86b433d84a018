#!/usr/bin/env bash
# The emulator against `sim run` on the same trace, full size by default: the tau2 workload
# (278 programs, seed 1) at C=32 on the reference profile, engine at --time-scale 20.
# Usage: bench/engine/vs_sim.sh [BUILD_DIR] [TIME_SCALE] [CONCURRENCY] [MAX_PROGRAMS]
# Extra workload options (e.g. "--turns-scale 0.1 --wait-scale 0.1") in WORKLOAD_ARGS; set
# KV_CSV=FILE to keep both KV usage series (t,engine_kv_usage,sim_kv_usage); KV_BLOCKS=N
# gives both sides a KV cache of N blocks instead of the profile's.
set -euo pipefail
build=${1:-build}
scale=${2:-20}
concurrency=${3:-32}
programs=${4:-0}
work=$(mktemp -d)
trap 'kill -9 ${engine:-0} 2>/dev/null || true; rm -rf "$work"' EXIT
"$build/agentsched" workload gen --seed 1 ${WORKLOAD_ARGS:-} --out "$work/trace.jsonl" >/dev/null
"$build/agentsched" sim run --no-gateway --system baseline -c "$concurrency" \
  --max-programs "$programs" --kv-blocks "${KV_BLOCKS:-0}" --workload "$work/trace.jsonl" --out "$work/sim" | head -2
"$build/agentsched" engine --port 0 --time-scale "$scale" \
  --num-gpu-blocks-override "${KV_BLOCKS:-0}" >"$work/engine.out" &
engine=$!
for _ in $(seq 100); do
  grep -q '^listening on' "$work/engine.out" && break
  sleep 0.1
done
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/engine.out")
status=0
"$build/bench_engine_vs_sim" --port "$port" --trace "$work/trace.jsonl" --sim-run "$work/sim" \
  -c "$concurrency" --max-programs "$programs" --time-scale "$scale" --limit 172800 \
  ${KV_CSV:+--csv "$KV_CSV"} ||
  status=$?
kill -TERM $engine
wait $engine
exit $status
