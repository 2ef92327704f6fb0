// The trainer's side of checkpoints: a Run into an io/checkpoint.h Checkpoint (with the model
// name, config and options in the metadata) and back, with --resume's checks worded for the
// command line (the config and the optimizer must match the run's).
#pragma once
#include <cstdio>
#include <string>

#include "apps/train_run.h"
#include "io/checkpoint.h"

namespace cardinal::apps {

void save_run_checkpoint(const Run& run, const TrainOptions& o, int64_t epochs_done,
                         const std::string& path);

// Reads --resume and checks it is a training checkpoint (before the data set is loaded, so a
// wrong path fails at once).
Checkpoint read_resume_checkpoint(const std::string& path);

// Restores model, optimizer, scheduler, generator, history and start_epoch from `c`; a note on
// `log` when the thread count differs from the one the checkpoint was written with.
void restore_run(Run& run, const TrainOptions& o, const Checkpoint& c, FILE* log);

}  // namespace cardinal::apps
