// Training checkpoints: the whole state of a run in one safetensors file, for `cardinal train
// --resume` and for C++ users who train with their own loop.
//
// The file holds tensors under section prefixes and strings in __metadata__:
//   model.<name>       Module::state_dict (weights and BatchNorm buffers)
//   optimizer.<name>   Optimizer::state_dict (momentum buffers, ...)
//   scheduler.<name>   LRScheduler::state_dict (step, base lrs)
//   rng.seed, rng.offset, epoch   int64 [1] each (the Generator's state as bit patterns)
//   __metadata__: format "cardinal-checkpoint", format_version "1", history (JSON list of the
//                 epochs so far) and whatever else the writer adds (model name, config, ...).
//
// This layer knows tensors only: the caller hands in and takes out state_dicts, so io/ needs
// neither nn/ nor optim/. Writing is atomic (io/safetensors.h): a crash or a failed write
// leaves the previous file at `path` as it was.
//
// Versions: a file without format_version is a checkpoint written before the tag existed; its
// layout is version 1's, so it loads as version 1. A newer version than this build knows is
// refused with a message naming both.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "io/safetensors.h"
#include "tensor/named_tensors.h"

namespace cardinal {

inline constexpr const char* kCheckpointFormat = "cardinal-checkpoint";
inline constexpr int kCheckpointFormatVersion = 1;

struct Checkpoint {
    NamedTensors model, optimizer, scheduler;  // each without its section prefix
    uint64_t rng_seed = 0, rng_offset = 0;
    int64_t epoch = 0;                         // epochs finished
    std::string history = "[]";                // JSON list, one object per finished epoch
    // Everything else in __metadata__ (format, format_version and history are set on save).
    std::map<std::string, std::string> metadata;
    std::string path;  // the file it was read from (for messages); empty when built in memory

    // A metadata value, or "" when absent.
    std::string meta(const std::string& key) const;
};

// True when `file`'s metadata says it is a training checkpoint (any version).
bool is_checkpoint(const SafetensorsFile& file);

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);

// Reads a checkpoint written by save_checkpoint (FormatError for a corrupt file; ValueError for
// a file that is not a checkpoint, say a weights-only model.safetensors, or of a newer version).
Checkpoint load_checkpoint(const std::string& path);
Checkpoint checkpoint_from_file(const SafetensorsFile& file);

}  // namespace cardinal
