#!/usr/bin/env bash
# Live against simulated on the full workload (docs/live.md): `experiment run --mode live`
# with the engine emulator at a time scale (default 20) and `sim matrix` on the same systems,
# concurrencies and seed. Prints tasks/min in the active window of both per cell, their
# difference and the winner per concurrency; exits 1 when a winner differs or a difference
# exceeds TOLERANCE percent (default 10). The live cells are kept: a second call only
# re-runs missing ones (rm -r OUT/live to start over).
# Usage: bench/live/vs_sim.sh [BUILD_DIR] [OUT_DIR] [TIME_SCALE] [SYSTEMS] [CONCURRENCY]
# MAX_PROGRAMS=N runs only the first N programs on both sides (a quick check of the script).
set -euo pipefail
build=${1:-build}
out=${2:-runs/live_vs_sim}
scale=${3:-20}
systems=${4:-baseline,continuum,thunderreact}
concurrency=${5:-32,64,128}
tolerance=${TOLERANCE:-10}
programs=${MAX_PROGRAMS:-0}
mkdir -p "$out"
"$build/agentsched" sim matrix --systems "$systems" -c "$concurrency" --seed 1 --force \
  --max-programs "$programs" \
  --no-plots --out "$out/sim" >/dev/null
"$build/agentsched" experiment run --mode live --time-scale "$scale" --systems "$systems" \
  -c "$concurrency" --seed 1 --max-programs "$programs" --out "$out/live" >/dev/null
"$build/agentsched" analyze compare --csv "$out"/sim/*_c* >"$out/sim.csv"
"$build/agentsched" analyze compare --csv "$out"/live/*_c* >"$out/live.csv"
awk -F, -v tol="$tolerance" -v scale="$scale" '
  FNR == 1 { next }
  FILENAME ~ /sim.csv$/ {
    sim[$1 "," $2] = $4
    if (!($2 in ss)) { ss[$2] = 1; systems[++m] = $2 }
    if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 + 0 }
    next
  }
  { live[$1 "," $2] = $4 }
  END {
    printf "tasks/min in the active window (KV > 70%%), live at time scale %s vs sim\n\n", scale
    printf "| C | system | sim | live | diff |\n|---:|---|---:|---:|---:|\n"
    bad = 0
    for (i = 2; i <= n; i++)  # concurrencies ascending (plain awk has no sort)
      for (j = i; j > 1 && order[j - 1] > order[j]; j--) { t = order[j]; order[j] = order[j - 1]; order[j - 1] = t }
    for (i = 1; i <= n; i++) {
      c = order[i]; best_s = ""; best_l = ""
      for (q = 1; q <= m; q++) {
        s = systems[q]; k = c "," s
        if (!(k in sim) || !(k in live)) { printf "| %s | %s | missing |||\n", c, s; bad = 1; continue }
        d = sim[k] > 0 ? 100 * (live[k] - sim[k]) / sim[k] : 0
        printf "| %s | %s | %.2f | %.2f | %+.1f%% |\n", c, s, sim[k], live[k], d
        if (d > tol || d < -tol) bad = 1
        if (best_s == "" || sim[k] > sim[c "," best_s]) best_s = s
        if (best_l == "" || live[k] > live[c "," best_l]) best_l = s
      }
      winners = winners sprintf("C=%s: sim %s, live %s%s\n", c, best_s, best_l,
                                best_s == best_l ? "" : "  <-- differs")
      if (best_s != best_l) bad = 1
    }
    printf "\nwinners\n%s", winners
    printf "\n%s\n", bad ? "FAIL: a winner differs or a difference exceeds " tol "%" : "OK: same winners, every difference within " tol "%"
    exit bad
  }' "$out/sim.csv" "$out/live.csv"
