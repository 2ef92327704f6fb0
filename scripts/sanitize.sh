#!/usr/bin/env bash
# The sanitizer builds of docs/reliability.md ("Sanitizers"), each in its own build tree:
#   address: AddressSanitizer + LeakSanitizer + UBSan, the whole test suite (build-asan/)
#   thread:  ThreadSanitizer, the tests tagged [threads] (build-tsan/)
# Usage: bash scripts/sanitize.sh [address|thread|all]   (default all; scripts/test.sh runs all)
# Any report fails the run. -O1 keeps the builds and runs short while leaving the stack traces
# readable; asserts stay on. Benchmarks are not built.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
case "$what" in
  address|thread|all) ;;
  *) echo "sanitize.sh: expected address, thread or all, got '$what'" >&2; exit 2 ;;
esac
JOBS=$(nproc)
SUPP="$PWD/scripts/sanitizers"

configure() {  # <build dir> <sanitizer>
  if [ ! -f "$1/build.ninja" ]; then
    local launcher=()
    command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -g1" \
          -DCARDINAL_BENCH=OFF -DCARDINAL_SANITIZE="$2" "${launcher[@]}"
  fi
}

if [ "$what" = address ] || [ "$what" = all ]; then
  echo "sanitize: AddressSanitizer + LeakSanitizer + UBSan, whole test suite"
  configure build-asan address
  cmake --build build-asan -j "$JOBS"
  # halt_on_error: the first report ends the test with a failure; the LSan suppressions are
  # leaks inside libraries we do not build (docs/reliability.md lists each with its reason).
  ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_init_order=1:check_initialization_order=1" \
  LSAN_OPTIONS="suppressions=$SUPP/lsan.supp:print_suppressions=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    ctest --test-dir build-asan --output-on-failure -j "$JOBS"
fi

if [ "$what" = thread ] || [ "$what" = all ]; then
  echo "sanitize: ThreadSanitizer, the [threads] tests"
  configure build-tsan thread
  cmake --build build-tsan -j "$JOBS" --target test_models test_dataset
  # One OpenMP thread per caller: libgomp is not built with TSan, so its barriers are invisible
  # to it and every parallel region would be reported as a race. What TSan checks here is the
  # library under several std::threads (shared model, caches, data loader worker).
  for t in test_models test_dataset; do
    OMP_NUM_THREADS=1 CARDINAL_NUM_THREADS=1 \
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$SUPP/tsan.supp" \
      "build-tsan/$t" "[threads]"
  done
fi
echo "sanitize: $what clean"
