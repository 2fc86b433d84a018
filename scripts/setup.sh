#!/usr/bin/env bash
# Installs what agentsched needs to build and test, from Debian's packages; skips what is there.
set -euo pipefail

packages=(g++ cmake make pkg-config libboost1.81-dev libboost-json1.81-dev libcli11-dev libfmt-dev
          libtomlplusplus-dev libgtest-dev libgmock-dev libbenchmark-dev curl
          # The browser tests of report.html (tests/analysis/browser/): headless chromium and a
          # font for it to lay text out with.
          chromium fonts-dejavu-core)
# --fuzz: also clang, libFuzzer and llvm-symbolizer for scripts/fuzz.sh (the tests need none).
if [[ ${1:-} == --fuzz ]]; then
  packages+=(clang-14 libclang-rt-14-dev llvm-14)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm run the openai npm client in tests/serve; a machine may have them from
# elsewhere than Debian, so look for the commands, not the packages.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing packages and not root; install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- the openai npm client for tests/serve (engine and router conformance) ---------------
node_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/node"
if [[ ! -d "$node_dir/node_modules/openai" ]]; then
  echo "setup: npm ci in tests/node"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
