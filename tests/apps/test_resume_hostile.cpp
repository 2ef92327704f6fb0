// `--resume` with damaged checkpoints: a truncated file (at several points: the length field,
// the header, the data), tensors that do not belong to the model or are missing, metadata that
// lies. Each is one cardinal::Error naming the file, and leaves the run directory as it was:
// nothing half-written, the checkpoint untouched.
#include <filesystem>
#include <map>

#include "apps/trainer.h"
#include "apps_test_util.h"
#include "io/safetensors.h"
#include "tensor/error.h"
#include "tests/io/io_test_util.h"

using namespace cardinal;
using namespace cardinal::apps;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

// Every file in `dir` with its bytes.
std::map<std::string, std::string> snapshot(const std::string& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        out[e.path().filename().string()] = test::read_bytes(e.path().string());
    return out;
}

// Resuming from `bytes` (written as dir/checkpoint.safetensors) fails with an Error whose
// message contains `expected`, and changes nothing in dir.
void refused(TrainOptions o, const std::string& dir, const std::string& bytes,
             const std::string& expected) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string path = dir + "/checkpoint.safetensors";
    test::write_bytes(path, bytes);
    const auto before = snapshot(dir);
    o.resume = path;
    o.out = dir;
    std::string message;
    try {
        run_training(o, nullptr);
    } catch (const Error& e) {
        message = e.what();
    }
    INFO(message);
    CHECK_THAT(message, Contains("checkpoint.safetensors") && Contains(expected));
    CHECK(snapshot(dir) == before);
}

}  // namespace

TEST_CASE("resume: damaged checkpoints are refused and nothing is written", "[apps][train]") {
    if (!testing::have_fashion_mnist()) {
        WARN("Fashion-MNIST not installed (package dataset-fashion-mnist): skipped");
        return;
    }
    const std::string dir = testing::temp_dir("resume_hostile");
    TrainOptions o = testing::tiny_options(dir + "/run", 64);
    o.stop_after = 1;
    const TrainResult first = run_training(o, nullptr);
    o.stop_after = 0;
    const std::string good = test::read_bytes(first.checkpoint_path);
    const std::string bad = dir + "/bad";

    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | uint8_t(good[i]);
    for (size_t cut : {size_t{0}, size_t{7}, size_t{8}, size_t{9}, size_t(8 + header_len / 2),
                       size_t(8 + header_len), size_t(8 + header_len + 1), good.size() / 2,
                       good.size() - 1}) {
        INFO("cut at " << cut << " of " << good.size());
        refused(o, bad, good.substr(0, cut), "");
    }

    SafetensorsFile f = load_safetensors(first.checkpoint_path);
    // A tensor the model does not have.
    NamedTensors extra = f.tensors;
    extra.emplace_back("model.not_a_layer.weight", zeros({2}));
    save_safetensors(dir + "/extra.safetensors", extra, f.metadata);
    refused(o, bad, test::read_bytes(dir + "/extra.safetensors"), "not_a_layer");
    // A weight missing.
    NamedTensors missing;
    for (const auto& [name, t] : f.tensors)
        if (name != "model.fc.weight") missing.emplace_back(name, t);
    save_safetensors(dir + "/missing.safetensors", missing, f.metadata);
    refused(o, bad, test::read_bytes(dir + "/missing.safetensors"), "fc.weight");
    // Metadata that is not what a checkpoint writes.
    for (const auto& [key, value, expected] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"history", "[{\"epoch\": ", "'history' is not JSON"},
             {"step", "2x", "'step' is not a step count"},
             {"step", "-1", "'step' is not a step count"},
             {"config", "{}", "config differs"},
             {"options", "[1]", "options"}}) {
        INFO(key << " = " << value);
        auto meta = f.metadata;
        meta[key] = value;
        save_safetensors(dir + "/meta.safetensors", f.tensors, meta);
        refused(o, bad, test::read_bytes(dir + "/meta.safetensors"), expected);
    }
    // Model kwargs that describe a model far bigger than the file (`cardinal train --resume`
    // takes them from the checkpoint's options): refused while building it, before it takes
    // the memory (about 5 GB here) the kwargs claim.
    TrainOptions huge = o;
    nlohmann::json kwargs = testing::tiny_model_kwargs();
    kwargs["channels"] = {4096, 4096, 4096, 4096};
    huge.model_kwargs = kwargs;
    refused(huge, bad, good, "model 'tiny' is bigger than the checkpoint of ");
}
