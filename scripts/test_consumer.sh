#!/usr/bin/env bash
# Installs the built cardinal into a temporary prefix, then configures, builds and runs
# examples/consumer against that prefix only (find_package(cardinal CONFIG REQUIRED)), and
# checks cardinal.pc with pkg-config. Usage: scripts/test_consumer.sh [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-${CARDINAL_BUILD_DIR:-build}}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$BUILD_DIR" --prefix "$tmp/prefix" >/dev/null
cmake -DREADME=README.md -DOUT="$tmp/readme_snippet.cpp" -P cmake/readme_snippet.cmake
cmake -S examples/consumer -B "$tmp/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCARDINAL_README_SNIPPET="$tmp/readme_snippet.cpp" >/dev/null
cmake --build "$tmp/build" -j2
"$tmp/build/consumer"
# The README's snippet, as written, against the installed cardinal::ops.
"$tmp/build/readme_snippet"
echo "README C++ snippet: built against the installed package, gradcheck passed"
# A cardinal built with MPI installs the component "dist": the consumer links cardinal::dist
# and runs it on 2 ranks.
if grep -Eqi "^CARDINAL_MPI:BOOL=(ON|TRUE|YES|Y|1)$" "$BUILD_DIR/CMakeCache.txt"; then
  [ -x "$tmp/build/consumer_dist" ] || {
    echo "test_consumer: expected the installed component dist (cardinal was built with MPI), it was not found" >&2; exit 1; }
  mpiexec=$(sed -n 's/^MPIEXEC_EXECUTABLE:FILEPATH=//p' "$BUILD_DIR/CMakeCache.txt")
  OMP_NUM_THREADS=1 CARDINAL_NUM_THREADS=1 OMP_WAIT_POLICY=passive \
    "${mpiexec:-mpiexec}" --oversubscribe --allow-run-as-root -n 2 "$tmp/build/consumer_dist"
fi
# The consumer saw no header of the source tree: every cardinal header came from the prefix.
deps=$(ninja -C "$tmp/build" -t deps)
if grep -q "$PWD/\(tensor\|autograd\|ops\|nn\|models\|optim\|io\|data\|dist\)/" <<<"$deps"; then
  echo "test_consumer: expected the installed headers only, got source-tree headers" >&2
  exit 1
fi
grep -q "$tmp/prefix/include/cardinal/models/resnet.h" <<<"$deps" || {
  echo "test_consumer: expected the consumer to include the installed models/resnet.h, it did not" >&2; exit 1; }
# cardinal.pc resolves (its Requires included) and names the installed headers and library.
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
pkg-config --modversion cardinal
pkg-config --cflags --libs cardinal
