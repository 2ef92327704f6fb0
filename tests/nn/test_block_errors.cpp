// Bad configurations, bad inputs and bad state dicts give clear errors.
#include <catch2/catch.hpp>

#include "nn/blocks/blocks.h"
#include "nn/layers/layers.h"

using namespace cardinal;
using Catch::Matchers::Contains;

TEST_CASE("bad SplitAttn / ResNeSt configurations are ValueErrors", "[nn][errors]") {
    CHECK_THROWS_MATCHES(SplitAttn(SplitAttnConfig{.in_channels = 16, .radix = 0}), ValueError,
                         Catch::Matchers::Message("SplitAttn: radix must be >= 1, got 0"));
    CHECK_THROWS_WITH(SplitAttn(SplitAttnConfig{.in_channels = 12, .groups = 2, .radix = 4}),
                      Contains("in_channels (12) must be divisible by groups*radix (2*4=8)"));
    // attn = make_divisible(48 * 1 / 4, 8, 32) = 32 is not divisible by 3 groups.
    CHECK_THROWS_WITH(SplitAttn(SplitAttnConfig{.in_channels = 48, .groups = 3, .radix = 1}),
                      Contains("attention channels (32) must be divisible by groups (3)"));
    CHECK_THROWS_WITH(SplitAttn(SplitAttnConfig{.in_channels = 16, .rd_ratio = 0}), Contains("rd_ratio"));
    CHECK_THROWS_WITH(ResNestBottleneck(ResNestBottleneckConfig{.inplanes = 8, .planes = 4, .base_width = 48,
                                                                 .radix = 4}),
                      Contains("group width 3 must be divisible by cardinality*radix (1*4)"));
    CHECK_THROWS_WITH(ResNestBottleneck(ResNestBottleneckConfig{.inplanes = 8, .planes = 4, .radix = 0}),
                      Contains("radix must be >= 1"));
    CHECK_THROWS_AS(RadixSoftmax(0, 1), ValueError);
}

TEST_CASE("bad SE / SK / Bottleneck configurations are ValueErrors", "[nn][errors]") {
    CHECK_THROWS_WITH(SEModule(64, 0.0), Contains("SEModule: rd_ratio must be positive, got 0"));
    CHECK_THROWS_WITH(SEModule(64, -0.5), Contains("rd_ratio must be positive"));
    CHECK_THROWS_WITH(SEModule(0), Contains("SEModule: channels must be positive"));
    CHECK_THROWS_WITH(SelectiveKernel(SelectiveKernelConfig{.in_channels = 5, .sk = {.split_input = true}}),
                      Contains("split_input needs in_channels (5) divisible by the number of paths (2)"));
    CHECK_THROWS_WITH(SelectiveKernel(SelectiveKernelConfig{.in_channels = 8, .sk = {.rd_ratio = 0}}),
                      Contains("rd_ratio and rd_divisor must be positive"));
    CHECK_THROWS_WITH(SelectiveKernel(SelectiveKernelConfig{.in_channels = 8, .out_channels = 8, .groups = 3,
                                                            .sk = {.split_input = false}}),
                      Contains("must be divisible by groups 3"));
    CHECK_THROWS_WITH(SelectiveKernelBasic(SkBlockConfig{.inplanes = 8, .planes = 8, .cardinality = 2}),
                      Contains("only supports cardinality 1"));
    CHECK_THROWS_WITH(Bottleneck(BottleneckConfig{.inplanes = 8, .planes = 1, .base_width = 16}),
                      Contains("width = floor(planes * base_width / 64) * cardinality is 0"));
    CHECK_THROWS_WITH(Bottleneck(BottleneckConfig{.inplanes = 8, .planes = 4, .cardinality = 0}),
                      Contains("cardinality, base_width and reduce_first must be positive"));
    CHECK_THROWS_WITH(Bottleneck(BottleneckConfig{.inplanes = 8, .planes = 4, .attn = {"cbam"}}),
                      Contains("make_attn: unknown attention layer 'cbam'"));
    CHECK_THROWS_WITH(make_downsample(8, 16, 0, false), Contains("make_downsample"));
}

TEST_CASE("bad layer configurations are ValueErrors", "[nn][errors]") {
    CHECK_THROWS_WITH(Conv2d(Conv2dOptions(6, 8, 3).groups(4)),
                      Contains("in_channels (6) and out_channels (8) must both be divisible by groups (4)"));
    CHECK_THROWS_AS(Conv2d(Conv2dOptions(4, 8, 3).stride(0)), ValueError);
    CHECK_THROWS_AS(Conv2d(Conv2dOptions(0, 8, 3)), ValueError);
    CHECK_THROWS_AS(BatchNorm2d(0), ValueError);
    CHECK_THROWS_AS(BatchNorm2d(4, -1.0), ValueError);
    CHECK_THROWS_AS(Linear(0, 3), ValueError);
    CHECK_THROWS_AS(MaxPool2d(Pool2dOptions(2).padding(2)), ValueError);
    CHECK_THROWS_AS(Dropout(1.0), ValueError);
    CHECK_THROWS_AS(DropBlock2d(0.1, 0), ValueError);
    CHECK_THROWS_AS(AdaptiveAvgPool2d(0), ValueError);
}

TEST_CASE("bad inputs to blocks are ShapeErrors naming the block", "[nn][errors]") {
    SplitAttn sa(SplitAttnConfig{.in_channels = 8, .radix = 2});
    CHECK_THROWS_MATCHES(sa.forward(randn({2, 4, 5, 5})), ShapeError,
                         Catch::Matchers::Message("SplitAttn(8 -> 8): expected input [B, 8, H, W], got float32 [2, 4, 5, 5]"));
    BatchNorm2d bn(4);
    CHECK_THROWS_WITH(bn.forward(randn({2, 3, 5, 5})), Contains("BatchNorm2d(4): expected input [N, 4, H, W]"));
    // A block that changes channels without a downsample.
    Bottleneck b(BottleneckConfig{.inplanes = 8, .planes = 4});
    CHECK_THROWS_WITH(b.forward(randn({2, 8, 4, 4})), Contains("needs a downsample"));
    SEModule se(16);
    CHECK_THROWS_AS(se.forward(randn({2, 8, 3, 3})), ShapeError);
}

TEST_CASE("a block state dict with wrong keys or shapes is refused with every problem listed", "[nn][errors]") {
    auto make = [] {
        return ResNestBottleneck(ResNestBottleneckConfig{.inplanes = 8, .planes = 4, .stride = 2, .radix = 2,
                                                         .avd = true, .downsample = make_downsample(8, 16, 2, true)});
    };
    ResNestBottleneck src = make();
    NamedTensors dict;
    for (const auto& [n, t] : src.state_dict()) {
        if (n == "conv2.fc1.bias") continue;
        if (n == "downsample.1.weight") {  // named as with a conv shortcut
            dict.emplace_back("downsample.0.weight", t.clone());
            continue;
        }
        if (n == "conv2.conv.weight") {
            dict.emplace_back(n, zeros({8, 4, 3, 3}));
            continue;
        }
        dict.emplace_back(n, t.clone());
    }
    ResNestBottleneck dst = make();
    try {
        dst.load_state_dict(dict);
        FAIL("expected a ValueError");
    } catch (const ValueError& e) {
        std::string msg = e.what();
        INFO(msg);
        CHECK_THAT(msg, Contains("does not fit this ResNestBottleneck"));
        CHECK_THAT(msg, Contains("missing keys (2)"));
        CHECK_THAT(msg, Contains("conv2.fc1.bias"));
        CHECK_THAT(msg, Contains("downsample.1.weight"));
        CHECK_THAT(msg, Contains("unexpected keys (1)"));
        CHECK_THAT(msg, Contains("downsample.0.weight"));
        CHECK_THAT(msg, Contains("conv2.conv.weight: expected shape [8, 2, 3, 3], got [8, 4, 3, 3]"));
    }
}
