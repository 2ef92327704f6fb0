#!/usr/bin/env bash
# Sets up (packages, configure, build) and runs the main job: the default Fashion-MNIST recipe
# (resnest_small, docs/training.md). Extra arguments go to `cardinal train`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD_DIR=${CARDINAL_BUILD_DIR:-build}
exec "$BUILD_DIR/cardinal" train --recipe default --out runs/fmnist "$@"
