// Shared helpers for the `cardinal train` / `eval` tests: a fast small model, small Fashion-MNIST
// subsets, temporary output directories.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "apps/train_options.h"
#include "data/idx.h"

namespace cardinal::apps::testing {

inline bool have_fashion_mnist() {
    return std::filesystem::exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz") ||
           std::filesystem::exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte");
}

// A fresh, empty directory under the system temp dir.
inline std::string temp_dir(const std::string& name) {
    // The process id keeps tests that ctest -j runs at once (and other checkouts' runs) apart.
    auto dir = std::filesystem::temp_directory_path() /
               ("cardinal_test_apps_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir.string();
}

// A ResNet-family model a few times cheaper than resnest_small (stride-2 stem, BasicBlocks),
// with dropout before the fc so the run draws from the checkpointed generator.
inline nlohmann::json tiny_model_kwargs(double drop_rate = 0.0) {
    return {{"block", "BasicBlock"}, {"layers", {1, 1, 1, 1}}, {"channels", {8, 16, 32, 32}},
            {"stem_type", "deep"},   {"stem_width", 8},        {"in_chans", 1},
            {"num_classes", 10},     {"stem_stride", 2},       {"stem_pool", false},
            {"drop_rate", drop_rate}};
}

// Defaults (the recipe) on a small subset, silent, 1 thread so results do not depend on load.
inline TrainOptions tiny_options(const std::string& out, int64_t images = 512) {
    TrainOptions o;
    o.model = "tiny";
    o.model_kwargs = tiny_model_kwargs();
    o.epochs = 2;
    o.batch = 32;
    o.limit_train = images;
    o.limit_test = 500;
    o.threads = 1;
    o.progress = "none";
    o.out = out;
    return o;
}

}  // namespace cardinal::apps::testing
