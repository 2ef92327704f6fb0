#include "io/checkpoint.h"

#include <string>

#include "tensor/error.h"

namespace cardinal {
namespace {

Tensor int64_scalar(uint64_t bits) {
    return from_vector_i64({static_cast<int64_t>(bits)}, {1});
}

uint64_t uint64_of(const SafetensorsFile& f, const std::string& name) {
    const Tensor& t = f.get(name);  // FormatError naming the file when absent
    check<FormatError>(t.dtype() == DType::Int64 && t.numel() == 1, f.path, ": '", name,
                       "' must be one int64, got ", describe(t));
    return static_cast<uint64_t>(t.data<int64_t>()[0]);
}

}  // namespace

std::string Checkpoint::meta(const std::string& key) const {
    auto it = metadata.find(key);
    return it == metadata.end() ? std::string() : it->second;
}

bool is_checkpoint(const SafetensorsFile& file) {
    auto it = file.metadata.find("format");
    return it != file.metadata.end() && it->second == kCheckpointFormat;
}

void save_checkpoint(const std::string& path, const Checkpoint& c) {
    NamedTensors t = with_prefix(c.model, "model.");
    for (auto& kv : with_prefix(c.optimizer, "optimizer.")) t.push_back(kv);
    for (auto& kv : with_prefix(c.scheduler, "scheduler.")) t.push_back(kv);
    t.emplace_back("rng.seed", int64_scalar(c.rng_seed));
    t.emplace_back("rng.offset", int64_scalar(c.rng_offset));
    t.emplace_back("epoch", int64_scalar(static_cast<uint64_t>(c.epoch)));
    std::map<std::string, std::string> metadata = c.metadata;
    metadata["format"] = kCheckpointFormat;
    metadata["format_version"] = std::to_string(kCheckpointFormatVersion);
    metadata["history"] = c.history;
    metadata["epoch"] = std::to_string(c.epoch);
    save_safetensors(path, t, metadata);
}

Checkpoint checkpoint_from_file(const SafetensorsFile& f) {
    auto format = f.metadata.find("format");
    const std::string got = format == f.metadata.end() ? "" : format->second;
    check<ValueError>(got == kCheckpointFormat, f.path,
                      ": not a cardinal training checkpoint (metadata format '", got,
                      "'); a weights-only model.safetensors cannot be resumed");
    auto version = f.metadata.find("format_version");
    if (version != f.metadata.end())  // absent: written before the tag, version 1's layout
        check<ValueError>(version->second == std::to_string(kCheckpointFormatVersion), f.path,
                          ": checkpoint format version '", version->second,
                          "', this build reads version ", kCheckpointFormatVersion);
    Checkpoint c;
    c.path = f.path;
    c.model = strip_prefix(f.tensors, "model.");
    c.optimizer = strip_prefix(f.tensors, "optimizer.");
    c.scheduler = strip_prefix(f.tensors, "scheduler.");
    c.rng_seed = uint64_of(f, "rng.seed");
    c.rng_offset = uint64_of(f, "rng.offset");
    c.epoch = static_cast<int64_t>(uint64_of(f, "epoch"));
    c.metadata = f.metadata;
    auto history = f.metadata.find("history");
    c.history = history == f.metadata.end() ? "[]" : history->second;
    return c;
}

Checkpoint load_checkpoint(const std::string& path) {
    return checkpoint_from_file(load_safetensors(path));
}

}  // namespace cardinal
