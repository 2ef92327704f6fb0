// The training loop behind `cardinal train`, callable from tests.
//
// The parts: apps/out_dir.h (the --out directory), apps/param_groups.h (groups, optimizer,
// schedule), apps/train_checkpoint.h (a run to and from io/checkpoint.h), apps/evaluate.h (the
// per-epoch evaluation); this file's .cpp runs the loop.
//
// A run writes to options.out:
//   metrics.jsonl           one JSON line per finished epoch (apps/metrics.h)
//   curves.svg              loss and accuracy against epoch
//   checkpoint.safetensors  after every epoch (and every --checkpoint-every N steps), the whole
//                           training state (io/checkpoint.h), written atomically (a temporary
//                           file next to it, fsync, rename, fsync of the directory: a crash or a
//                           full disk at any moment leaves the previous checkpoint whole):
//       model.<timm name>       weights and BatchNorm buffers
//       optimizer.<...>         Optimizer::state_dict (momentum buffers, ...)
//       scheduler.<...>         LRScheduler::state_dict (step, base lrs)
//       rng.seed, rng.offset    the Generator that initialised the model and drives
//                               dropout / DropBlock / drop-path (int64 bit patterns)
//       epoch                   epochs finished
//     and in __metadata__: format "cardinal-checkpoint", format_version, model, config (kwargs JSON),
//     options (TrainOptions JSON), history (the metrics so far), threads, step (batches done in
//     the unfinished epoch, 0 after an epoch) and epoch_totals (that epoch's running loss sum,
//     hits, images, lr and seconds, JSON).
//   model.safetensors       at the end: weights only with timm names; metadata "config" holds
//                           the kwargs JSON, "model" the name, "mean"/"std" the input
//                           normalization (JSON arrays), "format" "pt" (as timm's files).
//
// Resuming from a checkpoint restores all of it; the loader's order and augmentation are a
// function of (seed, epoch, index), so a run stopped after epoch k, or killed at any moment and
// resumed from its newest checkpoint, ends with weights bit-identical to an uninterrupted run
// (same seed and thread count).
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "apps/evaluate.h"
#include "apps/metrics.h"
#include "apps/train_options.h"
#include "io/checkpoint.h"

namespace cardinal::apps {

struct TrainResult {
    std::vector<EpochMetrics> history;  // every epoch so far, including resumed ones
    std::string checkpoint_path, model_path, metrics_path, curves_path;
    bool finished = false;  // all epochs done and model.safetensors written
};

// Trains as `options` say, printing progress and one summary line per epoch to `log` (null:
// silent). Every bad option, missing data set, unwritable --out or unusable --resume file is a
// cardinal::Error with a message naming the flag.
TrainResult run_training(const TrainOptions& options, FILE* log = stdout);

}  // namespace cardinal::apps
