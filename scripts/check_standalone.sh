#!/usr/bin/env bash
# Proves by hand what tests/repo/standalone_test.cc proves in the suite: a clone placed where
# nothing sits beside it builds and passes the tests that read fixtures and the repository
# checks. Clones HEAD (commit first) into a fresh temporary folder, builds the test binaries
# there, runs them, and removes the folder. Arguments go to CMake, e.g.
#   scripts/check_standalone.sh -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
parent=$(mktemp -d "${TMPDIR:-/tmp}/agentsched-alone-XXXXXX")
trap 'rm -rf "$parent"' EXIT
git clone --quiet "$PWD" "$parent/agentsched"
cd "$parent/agentsched"
echo "clone: $parent/agentsched (beside it: $(ls -A "$parent" | tr '\n' ' '))"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DAGENTSCHED_BENCH=OFF "$@" >/dev/null
cmake --build build -j"$jobs" --target agentsched test_http test_serve test_analysis test_repo
ctest --test-dir build --output-on-failure -j"$jobs" \
  -R 'Prometheus|VllmMetrics|SglangMetrics|FormatSample|Standalone|EngineServer\.Metrics|CheckFixture\.ReadsTheRunFormat|LiveSampler\.|RouterServer\.SglangMetrics'
