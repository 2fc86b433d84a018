#!/usr/bin/env bash
# Installs what agentsched needs to build and test, from Debian's packages; skips what is there.
set -euo pipefail

packages=(g++ cmake make pkg-config libboost1.81-dev libboost-json1.81-dev libcli11-dev libfmt-dev
          libtomlplusplus-dev libgtest-dev libgmock-dev libbenchmark-dev curl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
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
