#!/usr/bin/env bash
# Installs what cardinal needs (Debian packages, only those missing), then configures and
# builds a Release tree in build/. Safe to run again: it does only what is left to do.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(g++ cmake ninja-build libeigen3-dev libdnnl-dev ocl-icd-opencl-dev opencl-c-headers
          catch2 nlohmann-json3-dev libcli11-dev libstb-dev zlib1g-dev libjpeg62-turbo-dev dataset-fashion-mnist graphviz python3
          libopenmpi-dev openmpi-bin
          pkg-config)  # pkg-config: scripts/test_consumer.sh checks the installed cardinal.pc
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

BUILD_DIR=${CARDINAL_BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
