// timm's adapt_input_conv: a grey image through the summed filters gives what the RGB filters
// give on the grey image replicated to RGB; C channels repeat the RGB filters scaled by 3 / C.
#include <catch2/catch.hpp>

#include "autograd/grad_mode.h"
#include "models/resnet.h"
#include "models/weights.h"
#include "ops/ops.h"
#include "tensor/error.h"
#include "tensor/kernels.h"
#include "tensor/random.h"
#include "tests/io/io_test_util.h"

using namespace cardinal;

TEST_CASE("adapt_input_conv: 1 channel sums the RGB filters", "[weights]") {
    Generator g(1);
    Tensor w = randn({4, 3, 3, 3}, DType::Float64, &g);
    Tensor grey = randn({2, 1, 9, 9}, DType::Float64, &g);
    Tensor rgb = kernels::cat({grey, grey, grey}, 1);
    Conv2dParams p;
    p.padding = {1, 1};
    NoGradGuard no_grad;
    Tensor want = conv2d(rgb, w, Tensor(), p);
    Tensor got = conv2d(grey, adapt_input_conv(w, 1), Tensor(), p);
    CHECK(max_abs_diff(got, want) <= 1e-12);
}

TEST_CASE("adapt_input_conv: C channels repeat RGB and scale by 3 / C", "[weights]") {
    Generator g(2);
    Tensor w = randn({2, 3, 1, 1}, DType::Float32, &g);
    Tensor a = adapt_input_conv(w, 4);
    REQUIRE(a.shape() == Shape{2, 4, 1, 1});
    CHECK(a.dtype() == DType::Float32);
    for (int64_t o = 0; o < 2; ++o)
        for (int64_t c = 0; c < 4; ++c)
            CHECK(a.at({o, c, 0, 0}) == static_cast<float>(w.at({o, c % 3, 0, 0})) * 0.75f);
    CHECK_THROWS_AS(adapt_input_conv(randn({2, 4, 1, 1}), 1), ShapeError);
}

TEST_CASE("load_weights adapts the first conv only when asked", "[weights]") {
    cardinal::test::TempDir dir;
    ResNetConfig rgb = model_info("resnest_small").config;
    rgb.in_chans = 3;
    Generator g(3);
    ResNet source(rgb, &g);
    save_weights(source, dir.file("rgb.safetensors"));
    ResNet grey(model_info("resnest_small").config, &g);  // in_chans 1
    CHECK_THROWS_WITH(load_weights(grey, dir.file("rgb.safetensors")),
                      Catch::Contains("conv1.0.weight"));
    WeightLoadOptions wo;
    wo.adapt_input_conv = true;
    LoadStateReport r = load_weights(grey, dir.file("rgb.safetensors"), wo);
    REQUIRE(r.notes.size() == 1);
    CHECK_THAT(r.notes[0], Catch::Contains("adapted conv1.0.weight"));
    Tensor want = adapt_input_conv(source.state_dict().front().second, 1);
    CHECK(grey.state_dict().front().first == "conv1.0.weight");
    CHECK(max_abs_diff(grey.state_dict().front().second, want) == 0);
}
