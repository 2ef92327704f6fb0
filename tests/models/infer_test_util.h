// Helpers shared by the infer tests (tests/models and tests/apps): the model fixtures, a
// synthetic PNG, and running run_infer on a fixture as `cardinal infer` would.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

#include "models/infer.h"
#include "tests/io/io_test_util.h"

namespace cardinal::test {

inline const std::string kModelFixtureDir = std::string(CARDINAL_TEST_DATA) + "/models/";

// Every model fixture in tests/data/models (timm outputs and gradients, float64).
inline const std::vector<std::string> kModelFixtures = {
    "tiny_resnest", "tiny_resnest_1s4x", "tiny_resnest_4s2x", "tiny_resnet_d",
    "tiny_resnext", "tiny_seresnext",    "tiny_skresnet",     "tiny_skresnext"};

inline std::string model_fixture(const std::string& name) {
    return kModelFixtureDir + name + ".safetensors";
}

// The fixture as config, weights and input at once (how the fixture README says to run it).
inline InferOptions fixture_options(const std::string& path, DType dtype, bool train_backward) {
    InferOptions o;
    o.config_path = path;
    o.weights = path;
    o.inputs = {path};
    o.dtype = dtype;
    o.train_mode = train_backward;
    o.backward = train_backward;
    return o;
}

// A height x width RGB PNG with a smooth, non-constant pattern (every channel varies).
inline void write_test_png(const std::string& path, int height, int width) {
    std::vector<uint8_t> px(static_cast<size_t>(height) * width * 3);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            for (int c = 0; c < 3; ++c)
                px[(static_cast<size_t>(y) * width + x) * 3 + c] =
                    static_cast<uint8_t>((x * 3 + y * 5 + c * 70 + (x * y) % 23) % 256);
    if (!stbi_write_png(path.c_str(), width, height, 3, px.data(), width * 3))
        throw std::runtime_error("write_test_png: cannot write " + path);
}

}  // namespace cardinal::test
