// The trainer's side of checkpoints: a Run into an io/checkpoint.h Checkpoint (with the model
// name, config and options in the metadata) and back, with --resume's checks worded for the
// command line (the config and the optimizer must match the run's).
#pragma once
#include <cstdio>
#include <string>

#include "apps/train_run.h"
#include "io/checkpoint.h"

namespace cardinal::apps {

// `step` > 0: a mid-epoch checkpoint (--checkpoint-every) after `step` batches of epoch
// `epochs_done` (0-based), whose running totals are `totals`. A failed write is an Error saying
// the run stopped and the previous checkpoint is unchanged.
void save_run_checkpoint(const Run& run, const TrainOptions& o, int64_t epochs_done,
                         const std::string& path, int64_t step = 0,
                         const EpochTotals& totals = EpochTotals());

// A run killed while writing a checkpoint leaves its temporary file (checkpoint.safetensors
// .tmp-XXXXXX) behind; the next run in the directory removes it.
void remove_stale_checkpoint_temporaries(const std::string& checkpoint_path);

// Reads --resume and checks it is a training checkpoint (before the data set is loaded, so a
// wrong path fails at once).
Checkpoint read_resume_checkpoint(const std::string& path);

// Restores model, optimizer, scheduler, generator, history and start_epoch from `c`; a note on
// `log` when the thread count differs from the one the checkpoint was written with.
void restore_run(Run& run, const TrainOptions& o, const Checkpoint& c, FILE* log);

}  // namespace cardinal::apps
