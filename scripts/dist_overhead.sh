#!/usr/bin/env bash
# The per-step cost of data-parallel training on this machine (docs/distributed.md, "Measured
# overhead"): `mpirun -np 2 cardinal train` with half the cores per rank against one process
# with all of them, on the same global batch, with the gradient allreduce overlapped with
# backward and not (--no-overlap), with and without --sync-bn.
#
# Each configuration trains 2 epochs of STEPS steps; the figure is epoch 2's training time per
# step (epoch 1 pays for oneDNN's primitive creation), the best of REPEATS runs (the machine is
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

best() {  # <label> <command...>: the smallest ms/step over the repeats
  local label=$1; shift
  local b=""
  for _ in $(seq "$repeats"); do
    rm -rf "$tmp/out"
    "$@" --out "$tmp/out" > "$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
    local v; v=$(ms_per_step "$tmp/out")
    if [ -z "$b" ] || awk -v a="$v" -v b="$b" 'BEGIN { exit !(a < b) }'; then b=$v; fi
  done
  printf '%s\t%s\n' "$label" "$b"
}

mpi=(mpirun --oversubscribe --allow-run-as-root -np 2 -x OMP_WAIT_POLICY)
echo "# $model, global batch $batch, $steps steps per epoch, best of $repeats; $cores cores; $(date -u +%F)"
{
  best "1 process x $cores threads" "$cardinal" "${common[@]}" --threads "$cores"
  best "2 ranks x $per_rank threads, overlap on" "${mpi[@]}" "$cardinal" "${common[@]}" --threads "$per_rank"
  best "2 ranks x $per_rank threads, overlap off" "${mpi[@]}" "$cardinal" "${common[@]}" --threads "$per_rank" --no-overlap
  best "2 ranks x $per_rank threads, overlap on, --sync-bn" "${mpi[@]}" "$cardinal" "${common[@]}" --threads "$per_rank" --sync-bn
} | awk -F'\t' 'NR == 1 { base = $2 } { printf "| %s | %s ms | %+.1f%% |\n", $1, $2, ($2 / base - 1) * 100 }'
