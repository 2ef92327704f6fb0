#!/usr/bin/env bash
# The libFuzzer targets of docs/reliability.md ("Fuzzing"): builds fuzz/ with clang in
# build-fuzz/ (the whole library with ASan + UBSan and the fuzzer's coverage) and runs every
# target for a fixed time on its committed seed corpus (fuzz/corpus/<target>) plus the inputs
# earlier runs added (build-fuzz/corpus/<target>). A finding in any target (a crash, a
# sanitizer report, a leak, an exception that is not a cardinal::Error, a timeout, going over
# the memory limit) fails the script, naming the target, its log and the input that did it;
# every target runs whatever the others did.
#
# Usage: bash scripts/fuzz.sh [seconds-per-target] [target ...]   (default 20 s, all targets)
#   Reproduce a finding: build-fuzz/fuzz/fuzz_<target> <input file>
#   CARDINAL_FUZZ_NICE sets the niceness of the fuzzers (default 10; 19 for long runs on a
#   shared machine). The summary (build-fuzz/logs/summary.txt) gives each target's executions,
#   coverage, features, corpus size and wall time (which counts time the process was stopped).
# scripts/test.sh runs it with a short time; CARDINAL_SKIP_FUZZ=1 skips it there.
set -uo pipefail  # no -e: a fuzzer's non-zero status is a result to report, not a reason to stop
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
case "$seconds" in
  ''|*[!0-9]*) echo "fuzz.sh: seconds per target must be a whole number, got '$seconds'" >&2; exit 2 ;;
esac
ALL_TARGETS=(safetensors checkpoint idx cifar image config recipe cli)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
  [ -d "fuzz/corpus/$t" ] || { echo "fuzz.sh: unknown target '$t' (known: ${ALL_TARGETS[*]})" >&2; exit 2; }
done

BUILD=build-fuzz
CXX_CLANG=$(command -v clang++-14 || command -v clang++) || { echo "fuzz.sh: clang++ not found (scripts/setup.sh installs clang-14)" >&2; exit 1; }
CC_CLANG=$(command -v clang-14 || command -v clang)
if [ ! -f "$BUILD/build.ninja" ]; then
  launcher=()
  command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  CC="$CC_CLANG" CXX="$CXX_CLANG" cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" -DCARDINAL_FUZZ=ON -DCARDINAL_TESTS=OFF \
    -DCARDINAL_BENCH=OFF -DCARDINAL_EXAMPLES=OFF -DCARDINAL_INSTALL=OFF -DCARDINAL_MPI=OFF "${launcher[@]}" > /dev/null || { echo "fuzz.sh: configure failed" >&2; exit 1; }
fi
cmake --build "$BUILD" -j "${CARDINAL_FUZZ_JOBS:-2}" --target fuzz_all || { echo "fuzz.sh: build failed" >&2; exit 1; }

dict_of() {
  case "$1" in
    safetensors|checkpoint) echo fuzz/dict/safetensors.dict ;;
    config|recipe) echo fuzz/dict/json.dict ;;
    cli) echo fuzz/dict/cli.dict ;;
    *) echo "" ;;
  esac
}

# The scratch files each input is written to go to memory when /dev/shm exists.
scratch=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && scratch=/dev/shm
mkdir -p "$BUILD/logs" "$BUILD/findings"
failed=()
printf "%-12s %10s %8s %8s %8s %8s  %s\n" target execs cov ft corpus wall_s result > "$BUILD/logs/summary.txt"
for t in "${targets[@]}"; do
  work="$BUILD/corpus/$t"
  mkdir -p "$work"
  log="$BUILD/logs/$t.log"
  dict=$(dict_of "$t")
  args=(-max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=20
        -close_fd_mask=1 -print_final_stats=1 -artifact_prefix="$BUILD/findings/$t-")
  [ -n "$dict" ] && args+=(-dict="$dict")
  echo "fuzz: $t for ${seconds}s"
  start=$(date +%s)
  # The first directory receives the new inputs; the committed seeds are only read.
  TMPDIR="$scratch" OMP_NUM_THREADS=1 CARDINAL_NUM_THREADS=1 OMP_WAIT_POLICY=passive \
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    nice -n "${CARDINAL_FUZZ_NICE:-10}" "$BUILD/fuzz/fuzz_$t" "${args[@]}" "$work" "fuzz/corpus/$t" > "$log" 2>&1
  status=$?
  wall=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$line")
  corpus=$(find "$work" -type f | wc -l)
  if [ $status -eq 0 ]; then
    result=ok
  else
    result="FINDING (status $status)"
    failed+=("$t")
    artifact=$(grep -o "Test unit written to [^ ]*" "$log" | tail -1 | sed 's/Test unit written to //')
    echo "fuzz: FINDING in target '$t' (libFuzzer status $status); log: $log${artifact:+; input: $artifact}" >&2
    grep -E "ERROR|SUMMARY|runtime error|terminate called|what\(\)" "$log" | head -5 >&2
    [ -n "${artifact:-}" ] && echo "fuzz: reproduce with $BUILD/fuzz/fuzz_$t $artifact" >&2
  fi
  printf "%-12s %10s %8s %8s %8s %8s  %s\n" "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$corpus" "$wall" "$result" | tee -a "$BUILD/logs/summary.txt"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: findings in ${failed[*]} (logs and inputs in $BUILD/logs and $BUILD/findings)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no findings"
