#!/usr/bin/env bash
# The per-step cost of data-parallel training on this machine (docs/distributed.md, "Measured
# overhead"): `mpirun -np 2 cardinal train` with half the cores per rank against one process
# with all of them, on the same global batch, with the gradient allreduce overlapped with
# backward and not (--no-overlap), with and without --sync-bn.
#
# Each configuration trains 2 epochs of STEPS steps; the figure is epoch 2's training time per
# step (epoch 1 pays for oneDNN's primitive creation), the best of REPEATS rounds (the machine is
# shared: the minimum is the least disturbed). Run it on an idle machine, never during a build.
# Usage: bash scripts/dist_overhead.sh [BUILD_DIR] [MODEL] [GLOBAL_BATCH] [STEPS] [REPEATS]
set -euo pipefail
build=${1:-build}
model=${2:-resnest_small}
batch=${3:-64}
steps=${4:-8}
repeats=${5:-3}
cardinal="$build/cardinal"
[ -x "$cardinal" ] || { echo "dist_overhead.sh: no $cardinal (build first)" >&2; exit 2; }
command -v mpirun > /dev/null || { echo "dist_overhead.sh: mpirun not found (apt-get install openmpi-bin)" >&2; exit 2; }
cores=$(nproc)
per_rank=$(( cores / 2 > 0 ? cores / 2 : 1 ))
export OMP_WAIT_POLICY=passive
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
common=(train --model "$model" --batch "$batch" --limit-train $((batch * steps)) --limit-test 100
        --eval-batch 100 --epochs 2 --schedule constant --progress none)

# Epoch 2's train_seconds / steps, in milliseconds.
ms_per_step() { grep '"epoch":2' "$1/metrics.jsonl" | grep -o '"train_seconds":[0-9.e-]*' |
                awk -F: -v s="$steps" '{ printf "%.1f", $2 * 1000 / s }'; }

run_ms() {  # <command...>: one run's ms/step
  rm -rf "$tmp/out"
  "$@" --out "$tmp/out" > "$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
  ms_per_step "$tmp/out"
}

mpi=(mpirun --oversubscribe --allow-run-as-root -np 2 -x OMP_WAIT_POLICY)
labels=("1 process x $cores threads"
        "2 ranks x $per_rank threads, overlap on"
        "2 ranks x $per_rank threads, overlap off (--no-overlap)"
        "2 ranks x $per_rank threads, overlap on, --sync-bn")
commands=("$cardinal ${common[*]} --threads $cores"
          "${mpi[*]} $cardinal ${common[*]} --threads $per_rank"
          "${mpi[*]} $cardinal ${common[*]} --threads $per_rank --no-overlap"
          "${mpi[*]} $cardinal ${common[*]} --threads $per_rank --sync-bn")
# Rounds alternate the configurations, so that a burst of load elsewhere hits all of them alike.
declare -a best
for _ in $(seq "$repeats"); do
  for i in "${!commands[@]}"; do
    # shellcheck disable=SC2086  # the command strings hold no spaces inside arguments
    v=$(run_ms ${commands[$i]})
    if [ -z "${best[$i]:-}" ] || awk -v a="$v" -v b="${best[$i]}" 'BEGIN { exit !(a < b) }'; then best[$i]=$v; fi
  done
done
echo "# $model, global batch $batch, $steps steps per epoch, best of $repeats rounds; $cores cores; $(date -u +%F)"
echo "| configuration | ms per step | against 1 process |"
echo "|---|---|---|"
for i in "${!commands[@]}"; do
  awk -v l="${labels[$i]}" -v v="${best[$i]}" -v b="${best[0]}" \
    'BEGIN { printf "| %s | %s | %+.1f%% |\n", l, v, (v / b - 1) * 100 }'
done
