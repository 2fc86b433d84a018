#!/usr/bin/env bash
# Soak: `agentsched engine` <- `agentsched router` <- `agentsched drive` at C programs in flight
# for DURATION seconds of wall time at a high time scale, sampling every process's memory,
# descriptors and the router's program table. Checks at the end that
#   - no program was lost: every program the driver started ended, ok or error with a reason
#     in driver.log (started == ok + errors), and no chat call is left in flight anywhere;
#   - the router holds no program state after the last release (`GET /programs` is empty);
#   - memory is flat: each process's resident set after warm-up grows by at most
#     GROWTH_LIMIT percent from the first to the last window, and so do its descriptors.
# Writes OUT/samples.csv (one row per sample) and OUT/report.md; exits 1 when a check fails.
#
# Usage: bench/soak/run.sh [BUILD_DIR] [OUT_DIR]
#   DURATION=600      wall seconds during which the driver starts programs (then it drains)
#   CONCURRENCY=256   programs in flight
#   TIME_SCALE=50     emulated seconds per real second, all three processes
#   POLICY=admit      router gateway policy (passthrough, thunderreact, admit)
#   ROUNDS=16         tau2 workloads (278 programs each, seeds 1..ROUNDS) to draw programs from
#   INTERVAL=5        seconds between samples
#   WARMUP=120        seconds of samples left out of the memory check
#   GROWTH_LIMIT=10   percent of growth allowed between the first and last windows
set -euo pipefail
build=${1:-build}
out=${2:-runs/soak}
duration=${DURATION:-600}
concurrency=${CONCURRENCY:-256}
scale=${TIME_SCALE:-50}
policy=${POLICY:-admit}
rounds=${ROUNDS:-16}
interval=${INTERVAL:-5}
warmup=${WARMUP:-120}
growth_limit=${GROWTH_LIMIT:-10}
bin="$build/agentsched"
[[ -x $bin ]] || { echo "soak: $bin not found; build first (scripts/build.sh)" >&2; exit 2; }
command -v curl >/dev/null || { echo "soak: curl is needed (scripts/setup.sh installs it)" >&2; exit 2; }
rm -rf "$out"
mkdir -p "$out"

# Programs: ROUNDS tau2 workloads of different seeds, task ids prefixed by the seed so every
# program of the soak is a different task with its own job id.
trace="$out/workload.jsonl"
for ((seed = 1; seed <= rounds; seed++)); do
  "$bin" workload gen --seed "$seed" --out "$out/w$seed.jsonl" >/dev/null
done
{
  printf '{"format":"agentsched-workload","version":1,"name":"tau2-soak","seed":1,'
  printf '"prompt_cap_tokens":23000,"programs":%d}\n' $((278 * rounds))
  for ((seed = 1; seed <= rounds; seed++)); do
    tail -n +2 "$out/w$seed.jsonl" | sed "s/\"task_id\":\"/\"task_id\":\"s$seed-/"
    rm "$out/w$seed.jsonl"
  done
} >"$trace"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# Starts a server in the background; its port is read from `listening on HOST:PORT`.
start_server() {  # name, args...
  local name=$1
  shift
  "$bin" "$@" >"$out/$name.out" 2>"$out/$name.err" &
  pids+=($!)
  local pid=$! port=""
  for _ in $(seq 300); do
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out/$name.out")
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $port ]] || { echo "soak: $name did not start; see $out/$name.err" >&2; exit 1; }
  eval "${name}_pid=$pid ${name}_port=$port"
}

origin=$(date +%s.%N)
start_server engine engine --port 0 --time-scale "$scale"
start_server router router --port 0 --backends "http://127.0.0.1:$engine_port" --policy "$policy" \
  --time-scale "$scale"
"$bin" drive --endpoint "http://127.0.0.1:$router_port" --workload "$trace" -c "$concurrency" \
  --time-scale "$scale" --clock-origin "$origin" --duration "$duration" --out "$out/run" \
  --no-progress >"$out/drive.out" 2>"$out/drive.err" &
drive_pid=$!
pids+=($drive_pid)

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
programs() {  # the router's program count ("count" of GET /programs); -1 when it does not answer
  curl -s "http://127.0.0.1:$router_port/programs" |
    awk '{ if (match($0, /"count":[0-9]+/)) { print substr($0, RSTART + 8, RLENGTH - 8); f = 1 } } END { if (!f) print -1 }'
}
metric() {  # server port, metric name: the sum of its samples
  curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m || index($1, m "{") == 1 { s += $2 } END { print s + 0 }'
}

echo "t_s,engine_rss_kb,router_rss_kb,driver_rss_kb,engine_fds,router_fds,driver_fds,router_programs,engine_running,engine_waiting,finished" >"$out/samples.csv"
start=$(date +%s)
echo "soak: C=$concurrency, time scale $scale, policy $policy, ${duration}s of starts; samples every ${interval}s in $out/samples.csv"
while kill -0 "$drive_pid" 2>/dev/null; do
  t=$(($(date +%s) - start))
  finished=$(sed -n 's/.*"finished":\([0-9]*\).*/\1/p' "$out/run/agentsched/status.json" 2>/dev/null || true)
  echo "$t,$(rss_kb "$engine_pid"),$(rss_kb "$router_pid"),$(rss_kb "$drive_pid"),$(fds "$engine_pid"),$(fds "$router_pid"),$(fds "$drive_pid"),$(programs),$(metric "$engine_port" vllm:num_requests_running),$(metric "$engine_port" vllm:num_requests_waiting),${finished:-0}" >>"$out/samples.csv"
  sleep "$interval"
done
set +e
wait "$drive_pid"
drive_rc=$?
set -e
wall=$(($(date +%s) - start))

# What is left once the driver is done: programs in the router, requests in the engine.
left_programs=$(programs)
left_running=$(metric "$engine_port" vllm:num_requests_running)
left_waiting=$(metric "$engine_port" vllm:num_requests_waiting)
kill -TERM "$router_pid" "$engine_pid"
set +e
wait "$router_pid"
router_rc=$?
wait "$engine_pid"
engine_rc=$?
set -e
pids=()

summary="$out/run/agentsched/summary.json"
num() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$summary" | head -1; }
ok=$(num ok)
errors=$(num errors)
started=$(num total)
log="$out/run/driver.log"
# One [TAU2_TASK_COMPLETE] line per ended program; distinct task ids catch a program ended twice.
ended_lines=$(grep -c '^\[TAU2_TASK_COMPLETE\]' "$log" || true)
ended_tasks=$(sed -n 's/^\[TAU2_TASK_COMPLETE\] domain=\([^ ]*\) .* task_id=\([^ ]*\) .*/\1:\2/p' "$log" | sort -u | wc -l)

awk -F, -v warmup="$warmup" -v limit="$growth_limit" -v ok="${ok:-0}" -v errors="${errors:-0}" \
  -v started="${started:-0}" -v left_programs="$left_programs" -v left_running="$left_running" \
  -v left_waiting="$left_waiting" -v drive_rc="$drive_rc" -v router_rc="$router_rc" \
  -v engine_rc="$engine_rc" -v wall="$wall" -v scale="$scale" -v c="$concurrency" \
  -v policy="$policy" -v duration="$duration" -v ended_lines="$ended_lines" -v ended_tasks="$ended_tasks" '
  NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  { t[NR] = $1; for (i = 2; i <= NF; i++) v[NR, i] = $i; if ($1 <= duration) last = NR; end = NR }
  END {
    bad = 0
    printf "# Soak: engine + router + driver, C=%s, time scale %s, policy %s\n\n", c, scale, policy
    printf "Wall time %d s (starts stop at DURATION, then the programs in flight finish).\n\n", wall
    printf "## Programs\n\n| started | ok | error | ended in driver.log (distinct) | left in router | left in engine |\n"
    printf "|---:|---:|---:|---:|---:|---:|\n| %d | %d | %d | %d (%d) | %d | %d |\n\n", started, ok, errors,
           ended_lines, ended_tasks, left_programs, left_running + left_waiting
    lost = started - ok - errors
    if (lost != 0 || ended_lines != started || ended_tasks != started || left_programs != 0 || left_running + left_waiting != 0 || drive_rc != 0) bad = 1
    printf "Lost programs: %d. Exit codes: drive %d, router %d, engine %d.\n\n", lost, drive_rc, router_rc, engine_rc
    if (router_rc != 0 || engine_rc != 0) bad = 1
    # Memory at full load: mean of the first and last windows between warm-up and DURATION
    # (each a fifth of those samples, at least one), per process. The drain after DURATION is
    # left out (load falls there); its last sample is the "after drain" column.
    first = 0
    for (r = 2; r <= last; r++) if (t[r] >= warmup) { first = r; break }
    printf "## Memory and descriptors at full load, from %d s (warm-up) to %d s\n\n", warmup, duration
    if (first == 0 || last - first < 4) {
      printf "Too few samples after warm-up to judge growth (run longer).\n"
      bad = 1
    } else {
      n = int((last - first + 1) / 5); if (n < 1) n = 1
      printf "| series | first window | last window | growth | peak | after drain |\n|---|---:|---:|---:|---:|---:|\n"
      split("engine_rss_kb router_rss_kb driver_rss_kb engine_fds router_fds driver_fds", names, " ")
      for (k = 1; k <= 6; k++) {
        i = col[names[k]]; a = 0; b = 0; peak = 0
        for (r = first; r < first + n; r++) a += v[r, i]
        for (r = last - n + 1; r <= last; r++) b += v[r, i]
        for (r = 2; r <= end; r++) if (v[r, i] > peak) peak = v[r, i]
        a /= n; b /= n
        g = a > 0 ? 100 * (b - a) / a : 0
        # descriptors are small counts: allow a few of slack besides the percentage
        over = names[k] ~ /fds/ ? (b > a * (1 + limit / 100) + 8) : (g > limit)
        if (over) bad = 1
        unit = names[k] ~ /rss/ ? " MiB" : ""
        scale_by = names[k] ~ /rss/ ? 1024 : 1
        printf "| %s | %.1f%s | %.1f%s | %+.1f%%%s | %.1f%s | %.1f%s |\n", names[k], a / scale_by,
               unit, b / scale_by, unit, g, over ? " (over)" : "", peak / scale_by, unit,
               v[end, i] / scale_by, unit
      }
    }
    printf "\n%s\n", bad ? "FAIL" : "OK: zero lost programs, no router state left, memory flat"
    exit bad
  }' "$out/samples.csv" | tee "$out/report.md"
