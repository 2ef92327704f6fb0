#!/usr/bin/env bash
# `mpirun -np K cardinal train` end to end on a small Fashion-MNIST subset (docs/distributed.md):
#   1. K=2 with --sync-bn (and --check-replicas: every step's parameters bit-identical across
#      ranks) ends with the weights of one process on the same global batches (float32
#      reduction tolerance) and the same test accuracy (evaluation sharded, then summed);
#      only rank 0 prints.
#   2. K=3 with --sync-bn stops after epoch 1, K=2 resumes it: the same weights again. The
#      batch of 24 splits 12/12 and 8/8/8; the kept last batch of 7 splits 4/3 and 3/2/2.
#   3. Without --sync-bn, --check-replicas still passes (BatchNorm statistics per rank are the
#      documented difference; the parameters stay identical). Rank 1, given its own --out,
#      writes nothing there.
#   4. A rank count that does not divide --batch: one line, exit 2.
# The learning rate is small (0.01) because this tiny network amplifies float32 rounding
# differences chaotically at higher rates (at 0.05 two single-process runs with 1 and 2 threads
# already differ by 10% after 10 steps); at 0.01 the ranks agree with one process to ~1e-6.
# Usage: train_check.sh CARDINAL MPIEXEC COMPARE_WEIGHTS TINY_CONFIG_JSON
set -euo pipefail
cardinal=$1 mpiexec=$2 compare=$3 tiny=$4
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "dist train tests skipped: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"
  exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mpirun=("$mpiexec" --oversubscribe --allow-run-as-root -np)
common=(train --config "$tiny" --limit-train 199 --batch 24 --keep-last --limit-test 100 --eval-batch 30
        --lr 0.01 --epochs 2 --threads 1 --progress log)
fail() { echo "FAILED: $*"; exit 1; }
test_acc() { grep -o '"test_acc":[0-9.e-]*' "$1/metrics.jsonl" | tr '\n' ' '; }

"$cardinal" "${common[@]}" --out "$tmp/one" > "$tmp/one.log"

"${mpirun[@]}" 2 "$cardinal" "${common[@]}" --sync-bn --check-replicas --out "$tmp/two" > "$tmp/two.log"
"$compare" "$tmp/two/model.safetensors" "$tmp/one/model.safetensors" 1e-5 || fail "K=2 --sync-bn weights differ from one process"
[ "$(test_acc "$tmp/two")" = "$(test_acc "$tmp/one")" ] || fail "test accuracy K=2 $(test_acc "$tmp/two") vs one process $(test_acc "$tmp/one")"
[ "$(grep -c '^epoch 2/2  train loss' "$tmp/two.log")" = 1 ] || fail "expected rank 0 alone to print the epoch line: $(cat "$tmp/two.log")"
echo "K=2 --sync-bn: weights and test accuracy $(test_acc "$tmp/two")equal one process; one rank printed"

"${mpirun[@]}" 3 "$cardinal" "${common[@]}" --sync-bn --stop-after 1 --out "$tmp/three" > "$tmp/three.log"
"${mpirun[@]}" 2 "$cardinal" train --resume "$tmp/three/checkpoint.safetensors" --threads 1 --progress none > "$tmp/resume.log"
"$compare" "$tmp/three/model.safetensors" "$tmp/one/model.safetensors" 1e-5 || fail "K=3 then K=2 (--resume) weights differ from one process"
echo "K=3 for epoch 1, resumed with K=2 for epoch 2: weights equal one process"

"${mpirun[@]}" 2 "$cardinal" "${common[@]}" --check-replicas --out "$tmp/nosync" > "$tmp/nosync.log"
echo "K=2 without --sync-bn: parameters identical across ranks after every step"

# Rank 1 told another --out (mpirun's MPMD form) writes nothing there: rank 0 alone writes.
"$mpiexec" --oversubscribe --allow-run-as-root -np 1 "$cardinal" "${common[@]}" --out "$tmp/rank0" : \
  -np 1 "$cardinal" "${common[@]}" --out "$tmp/rank1" > "$tmp/mpmd.log"
[ -f "$tmp/rank0/model.safetensors" ] && [ -f "$tmp/rank0/checkpoint.safetensors" ] || fail "rank 0 wrote no model"
[ ! -e "$tmp/rank1" ] || fail "rank 1 wrote into its --out: $(ls -la "$tmp/rank1")"
echo "rank 0 alone writes (rank 1's --out stays absent)"

set +e
"${mpirun[@]}" 3 "$cardinal" train --config "$tiny" --batch 16 --limit-train 64 --epochs 1 --out "$tmp/bad" > "$tmp/bad.log" 2>&1
rc=$?
set -e
[ $rc = 2 ] || fail "K=3 with --batch 16: expected exit 2, got $rc: $(cat "$tmp/bad.log")"
grep -q '^cardinal: error: train: --batch 16 does not split over the 3 ranks of mpirun -np 3' "$tmp/bad.log" ||
  fail "K=3 with --batch 16: no clear message: $(cat "$tmp/bad.log")"
echo "K=3 with --batch 16: exit 2 with one line"
