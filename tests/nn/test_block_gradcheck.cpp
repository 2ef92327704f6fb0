// float64 gradcheck of every block and attention module (train mode: BN uses batch statistics,
// which is deterministic). Small shapes; parameters are checked tensor by tensor along random
// directions, the input too.
#include <catch2/catch.hpp>

#include "autograd/grad_mode.h"
#include "module_gradcheck.h"
#include "nn/blocks/blocks.h"

using namespace cardinal;
using namespace cardinal::testing;

namespace {

Tensor input(const Shape& shape, uint64_t seed = 1) {
    Generator gen(seed);
    return randn(shape, DType::Float64, &gen);
}

// Gives the BNs non-trivial affine parameters so that the check does not run at weight 1, bias 0.
void randomise_bn(Module& m, uint64_t seed) {
    Generator gen(seed);
    NoGradGuard guard;
    for (auto& [name, t] : m.named_parameters()) {
        bool bn_weight = name.size() > 7 && name.find("bn") != std::string::npos &&
                         name.compare(name.size() - 7, 7, ".weight") == 0;
        if (bn_weight) t.copy_(uniform(t.shape(), 0.5, 1.5, DType::Float64, &gen));
    }
}

void expect_ok(Module& m, const Tensor& x) {
    m.train();
    m.to(DType::Float64);
    randomise_bn(m, 17);
    auto r = gradcheck_module(m, x, /*fast=*/true);
    INFO(m.repr() << "\n" << r.message);
    CHECK(r.ok);
}

}  // namespace

TEST_CASE("SEModule gradcheck", "[nn][gradcheck]") {
    Generator gen(1);
    SEModule se(16, 0.25, 4, &gen);
    expect_ok(se, input({2, 16, 3, 3}));
}

TEST_CASE("Bottleneck gradcheck: cardinality 1 and 2, stride 2, SE, avg_down", "[nn][gradcheck]") {
    Generator gen(2);
    SECTION("cardinality 2, stride 2, conv shortcut") {
        Bottleneck b(BottleneckConfig{.inplanes = 8, .planes = 4, .stride = 2, .cardinality = 2, .base_width = 32,
                                      .downsample = make_downsample(8, 16, 2, false, &gen), .gen = &gen});
        expect_ok(b, input({3, 8, 5, 5}));
    }
    SECTION("cardinality 1, SE, identity shortcut") {
        Bottleneck b(BottleneckConfig{.inplanes = 16, .planes = 4, .attn = {"se", 0.25, 4}, .gen = &gen});
        expect_ok(b, input({3, 16, 4, 4}));
    }
    SECTION("avg_down shortcut on an odd size") {
        Bottleneck b(BottleneckConfig{.inplanes = 8, .planes = 4, .stride = 2,
                                      .downsample = make_downsample(8, 16, 2, true, &gen), .gen = &gen});
        expect_ok(b, input({3, 8, 5, 3}));
    }
}

TEST_CASE("SelectiveKernel gradcheck: split input, grouped, stride 2", "[nn][gradcheck]") {
    Generator gen(3);
    SECTION("split_input, stride 1") {
        SelectiveKernel sk(SelectiveKernelConfig{.in_channels = 4, .out_channels = 6,
                                                 .sk = {.rd_ratio = 0.5, .rd_divisor = 2, .split_input = true},
                                                 .gen = &gen});
        expect_ok(sk, input({3, 4, 4, 4}));
    }
    SECTION("grouped, stride 2") {
        SelectiveKernel sk(SelectiveKernelConfig{.in_channels = 4, .out_channels = 4, .stride = 2, .groups = 2,
                                                 .sk = {.rd_ratio = 0.5, .rd_divisor = 2, .split_input = false},
                                                 .gen = &gen});
        expect_ok(sk, input({3, 4, 5, 5}));
    }
}

TEST_CASE("SK blocks gradcheck: basic stride 2, bottleneck", "[nn][gradcheck]") {
    Generator gen(4);
    SECTION("SelectiveKernelBasic stride 2") {
        SelectiveKernelBasic b(SkBlockConfig{.inplanes = 4, .planes = 6, .stride = 2,
                                             .sk = {.rd_ratio = 0.5, .rd_divisor = 2, .split_input = true},
                                             .downsample = make_downsample(4, 6, 2, false, &gen), .gen = &gen});
        expect_ok(b, input({3, 4, 5, 5}));
    }
    SECTION("SelectiveKernelBottleneck cardinality 2") {
        SelectiveKernelBottleneck b(SkBlockConfig{.inplanes = 8, .planes = 2, .cardinality = 2, .base_width = 64,
                                                  .sk = {.rd_ratio = 0.5, .rd_divisor = 2, .split_input = false},
                                                  .gen = &gen});
        expect_ok(b, input({3, 8, 4, 4}));
    }
}

TEST_CASE("SplitAttn gradcheck: radix 1, 2, 4; cardinality 1 and 2", "[nn][gradcheck]") {
    Generator gen(5);
    struct Case { int64_t radix, groups, stride; };
    for (Case c : {Case{1, 2, 1}, Case{2, 1, 1}, Case{2, 2, 2}, Case{4, 2, 1}}) {
        DYNAMIC_SECTION("radix " << c.radix << " groups " << c.groups << " stride " << c.stride) {
            SplitAttn sa(SplitAttnConfig{.in_channels = 8, .stride = c.stride, .groups = c.groups, .radix = c.radix,
                                         .rd_channels = 2, .gen = &gen});
            expect_ok(sa, input({3, 8, 4, 4}));
        }
    }
}

TEST_CASE("ResNestBottleneck gradcheck: radix, cardinality, avd_first on/off, stride 2", "[nn][gradcheck]") {
    Generator gen(6);
    struct Case { int64_t radix, card; bool avd_first; int64_t stride; };
    for (Case c : {Case{2, 1, false, 2}, Case{2, 1, true, 2}, Case{4, 2, true, 2}, Case{1, 2, false, 1}}) {
        DYNAMIC_SECTION("radix " << c.radix << " card " << c.card << " avd_first " << c.avd_first
                                 << " stride " << c.stride) {
            ModulePtr ds = c.stride > 1 ? make_downsample(8, 16, c.stride, true, &gen) : nullptr;
            ResNestBottleneck b(ResNestBottleneckConfig{.inplanes = c.stride > 1 ? 8 : 16, .planes = 4,
                                                        .stride = c.stride, .cardinality = c.card,
                                                        .base_width = 64 / c.card * 2, .radix = c.radix,
                                                        .avd = true, .avd_first = c.avd_first,
                                                        .downsample = ds, .gen = &gen});
            expect_ok(b, input({3, c.stride > 1 ? 8 : 16, 5, 5}));
        }
    }
}

TEST_CASE("make_downsample gradcheck: conv and avg forms", "[nn][gradcheck]") {
    Generator gen(7);
    auto conv = make_downsample(4, 6, 2, false, &gen);
    expect_ok(*conv, input({3, 4, 5, 5}));
    auto avg = make_downsample(4, 6, 2, true, &gen);
    expect_ok(*avg, input({3, 4, 5, 3}));
}
