#!/usr/bin/env bash
# Fresh machine to result: installs, builds, and runs the simulated comparison of the
# reference systems on the built-in tau2 workload and the reference profile.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
./build/agentsched sim matrix --out runs/matrix --force "$@"
# Last line: the page that shows the whole comparison (opens offline in any browser).
echo "report: $(pwd)/runs/matrix/report.html"
