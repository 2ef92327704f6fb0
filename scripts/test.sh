#!/usr/bin/env bash
# Sets up (packages, configure, build) and runs the whole test suite, then the sanitizer builds
# (scripts/sanitize.sh: the whole suite under AddressSanitizer + LeakSanitizer + UBSan, the
# threaded tests under ThreadSanitizer; any report fails). CARDINAL_SKIP_SANITIZERS=1 skips
# them for a quick local run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh  # installs python3 too
# The layering (seconds): each layer's #includes against its cardinal_add_layer USES.
python3 scripts/check_layers.py
BUILD_DIR=${CARDINAL_BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "$@"
# The installed package: a separate project built against a temporary prefix only.
bash scripts/test_consumer.sh "$BUILD_DIR"
if [ "${CARDINAL_SKIP_SANITIZERS:-0}" != 1 ]; then
  bash scripts/sanitize.sh all
fi
