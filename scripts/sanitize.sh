#!/usr/bin/env bash
# Builds with a sanitizer and runs the tests under it (CI runs both after scripts/test.sh):
#   scripts/sanitize.sh address   ASan + UBSan, every report fatal; all tests; build-asan/
#   scripts/sanitize.sh thread    TSan; the server tests (layers http and serve); build-tsan/
# Further arguments go to ctest (e.g. -R Http1Parse). Builds with the default compiler (g++);
# CXX=clang++ works too. Optimised (-O1) with line tables, assertions on.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-address}
shift || true
jobs=$(nproc 2>/dev/null || echo 2)
case $kind in
  address)
    dir=build-asan
    targets=(all)
    filter=()
    ;;
  thread)
    # The threads are in the servers and clients; the other layers are single-threaded
    # state machines, left to the address run.
    dir=build-tsan
    targets=(agentsched test_http test_serve)
    filter=(-L '^(http|serve)$')
    ;;
  *)
    echo "usage: scripts/sanitize.sh [address|thread] [ctest arguments]" >&2
    exit 2
    ;;
esac

cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DAGENTSCHED_SANITIZE="$kind" -DAGENTSCHED_BENCH=OFF >/dev/null
cmake --build "$dir" -j"$jobs" --target "${targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
ctest --test-dir "$dir" --output-on-failure -j"$jobs" "${filter[@]}" "$@"
