#!/usr/bin/env bash
# Fuzzes every parser of outside input: builds the libFuzzer targets of fuzz/ with clang,
# ASan and UBSan into build-fuzz/, then runs each for SECONDS (default 60) starting from its
# seeds in fuzz/corpus/<name>/. Needs clang and libFuzzer (scripts/setup.sh --fuzz).
#
#   scripts/fuzz.sh [SECONDS]
#   FUZZ_TARGETS="http_head sse"   only these targets
#   FUZZ_PARALLEL=2                targets run at once (default 1)
#   FUZZ_BUILD_JOBS=2              build parallelism (default: nproc)
#
# New inputs found go to build-fuzz/corpus/<name>/ (fuzz/corpus/ is never written), crashes
# to build-fuzz/crashes/<name>/, logs to build-fuzz/logs/<name>.log. Exits non-zero when a
# target crashed; reproduce with: build-fuzz/<name>_fuzz build-fuzz/crashes/<name>/<file>.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
parallel=${FUZZ_PARALLEL:-1}
build_jobs=${FUZZ_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}

cxx=""
for c in clang++ clang++-14; do
  if command -v "$c" >/dev/null 2>&1; then cxx=$c; break; fi
done
if [[ -z $cxx ]]; then
  echo "fuzz: clang++ not found; install it with: scripts/setup.sh --fuzz" >&2
  exit 1
fi

cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DAGENTSCHED_FUZZ=ON -DAGENTSCHED_TESTS=OFF \
  -DAGENTSCHED_BENCH=OFF >/dev/null
cmake --build build-fuzz --target fuzz -j"$build_jobs"

if [[ -n ${FUZZ_TARGETS:-} ]]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for src in fuzz/*_fuzz.cc; do
    name=$(basename "$src" _fuzz.cc)
    [[ -x build-fuzz/${name}_fuzz ]] && targets+=("$name")
  done
fi

# Symbolized stack traces in crash reports (Debian's llvm-14 installs it off the PATH).
if ! command -v llvm-symbolizer >/dev/null 2>&1 && [[ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi

mkdir -p build-fuzz/logs
run_one() {
  local name=$1
  mkdir -p "build-fuzz/corpus/$name" "build-fuzz/crashes/$name"
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="build-fuzz/crashes/$name/")
  [[ -f fuzz/dict/$name.dict ]] && args+=(-dict="fuzz/dict/$name.dict")
  local dirs=("build-fuzz/corpus/$name")
  [[ -d fuzz/corpus/$name ]] && dirs+=("fuzz/corpus/$name")
  if "build-fuzz/${name}_fuzz" "${args[@]}" "${dirs[@]}" >"build-fuzz/logs/$name.log" 2>&1; then
    echo "fuzz: $name ok: $(summary "$name")"
  else
    echo "fuzz: $name FAILED: see build-fuzz/logs/$name.log and build-fuzz/crashes/$name/"
    return 1
  fi
}
# "N execs, cov C, ft F, corpus K" from libFuzzer's last status line and final stats.
summary() {
  local log=build-fuzz/logs/$1.log
  local execs cov
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || true)
  cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+' || true)
  echo "${execs:-?} execs, ${cov:-no coverage line}"
}

failed=0
running=0
for name in "${targets[@]}"; do
  if ((running >= parallel)); then
    wait -n || failed=1
    running=$((running - 1))
  fi
  run_one "$name" &
  running=$((running + 1))
done
while ((running > 0)); do
  wait -n || failed=1
  running=$((running - 1))
done
exit "$failed"
