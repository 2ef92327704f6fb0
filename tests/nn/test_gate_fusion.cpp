// The fused inference gates (SE, Selective Kernel, Split Attention; ops/channel_gates.h) inside
// their modules and whole blocks: eval output with BatchNorm statistics that are not the
// identity, float32 channels-last (the fused path) and float64 channels-last (the same code,
// exact to rounding) against the float64 NCHW modules one op after another (the reference path:
// NCHW never takes the fused gates). NCHW float32 input must still be right (it falls back), and
// eval with a gradient wanted must fall back to the differentiable ops.
#include <catch2/catch.hpp>

#include <functional>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/variable.h"
#include "nn/blocks/blocks.h"
#include "nn/layers/batch_norm.h"
#include "ops/channel_gates.h"
#include "ops/arithmetic.h"
#include "ops/reduction.h"
#include "ops/shape_ops.h"
#include "tensor/memory_format.h"
#include "tensor/random.h"

using namespace cardinal;

namespace {

double max_rel(const Tensor& a, const Tensor& ref) {
    const Tensor r = ref.to(DType::Float64);
    return max_abs_diff(a.to(DType::Float64), r) / std::max(1.0, max_abs_diff(r, zeros_like(r)));
}

// Every BatchNorm2d gets eval statistics and an affine map far from the identity, so that a
// wrong fold (or a skipped BN) shows.
void randomize_batch_norms(Module& m, Generator* gen) {
    NoGradGuard ng;
    for (auto& [name, mod] : m.named_modules()) {
        auto* bn = dynamic_cast<BatchNorm2d*>(mod);
        if (!bn) continue;
        const int64_t c = bn->num_features();
        bn->weight().copy_(uniform({c}, 0.5, 1.5, DType::Float32, gen));
        bn->bias().copy_(normal({c}, 0.0, 0.3, DType::Float32, gen));
        bn->running_mean().copy_(normal({c}, 0.0, 0.3, DType::Float32, gen));
        bn->running_var().copy_(uniform({c}, 0.5, 2.0, DType::Float32, gen));
    }
}

struct Case {
    std::string name;
    std::function<ModulePtr(Generator*)> build;
    Shape input;
};

// (Tensor::to makes a contiguous copy, so the layout is set after the dtype.)
Tensor eval_forward(Module& m, const Tensor& x, DType dtype, MemoryFormat format) {
    NoGradGuard ng;
    m.to(dtype);
    return m.forward(to_memory_format(x.to(dtype), format));
}

void check_case(const Case& c) {
    Generator gen(17);
    ModulePtr m = c.build(&gen);
    randomize_batch_norms(*m, &gen);
    m->eval();
    const Tensor x = randn(c.input, DType::Float64, &gen);
    INFO(c.name << " input " << shape_str(c.input));

    const int64_t before_ref = gated_sum_calls();
    const Tensor ref = eval_forward(*m, x, DType::Float64, MemoryFormat::Contiguous);
    CHECK(gated_sum_calls() == before_ref);  // NCHW: the reference never takes the fused gates

    const int64_t before = gated_sum_calls();
    const Tensor y32 = eval_forward(*m, x, DType::Float32, MemoryFormat::ChannelsLast);
    CHECK(gated_sum_calls() > before);  // channels-last: it does
    // float64 convolutions write NCHW, so in a block float64 reaches the gates channels-last only
    // when the module is the gate itself (SEModule); there the fused math must agree to rounding.
    const int64_t before64 = gated_sum_calls();
    const Tensor y64 = eval_forward(*m, x, DType::Float64, MemoryFormat::ChannelsLast);
    const bool fused64 = gated_sum_calls() > before64;
    const Tensor y32_nchw = eval_forward(*m, x, DType::Float32, MemoryFormat::Contiguous);
    REQUIRE(y32.shape() == ref.shape());
    CHECK(is_channels_last(y32));
    CHECK(max_rel(y32, ref) < 2e-5);
    CHECK(max_rel(y64, ref) < 1e-12);
    CHECK(max_rel(y32_nchw, ref) < 2e-5);
    std::printf("gate fusion %-38s float32 NHWC rel %.3g, NCHW rel %.3g", c.name.c_str(), max_rel(y32, ref),
                max_rel(y32_nchw, ref));
    if (fused64) std::printf(", float64 NHWC (fused) rel %.3g", max_rel(y64, ref));
    std::printf("\n");
}

Case se_module() {
    return {"SEModule(64)", [](Generator* g) { return std::make_shared<SEModule>(64, 0.25, 8, g); }, {2, 64, 9, 7}};
}

Case se_bottleneck(int64_t cardinality, int64_t stride) {
    return {"SE-ResNeXt Bottleneck c" + std::to_string(cardinality) + " s" + std::to_string(stride),
            [=](Generator* g) {
                BottleneckConfig b;
                b.inplanes = 64;
                b.planes = 16;
                b.stride = stride;
                b.cardinality = cardinality;
                b.base_width = 32;
                b.attn = {"se", 0.25, 8};
                if (stride > 1) b.downsample = make_downsample(64, 64, stride, false, g);
                b.gen = g;
                return std::make_shared<Bottleneck>(b);
            },
            {2, 64, 10, 9}};
}

Case selective_kernel(int64_t groups, bool split_input, int64_t stride) {
    return {"SelectiveKernel g" + std::to_string(groups) + (split_input ? " split" : "") + " s" +
                std::to_string(stride),
            [=](Generator* g) {
                SelectiveKernelConfig s;
                s.in_channels = 32;
                s.out_channels = 48;
                s.stride = stride;
                s.groups = groups;
                s.sk.split_input = split_input;
                s.sk.rd_ratio = 0.25;
                s.gen = g;
                return std::make_shared<SelectiveKernel>(s);
            },
            {2, 32, 11, 8}};
}

Case sk_bottleneck(int64_t cardinality, int64_t stride, bool se) {
    return {"SK Bottleneck c" + std::to_string(cardinality) + " s" + std::to_string(stride) + (se ? " se" : ""),
            [=](Generator* g) {
                SkBlockConfig b;
                b.inplanes = 64;
                b.planes = 16;
                b.stride = stride;
                b.cardinality = cardinality;
                b.base_width = 32;
                if (se) b.attn = {"se", 0.25, 8};
                if (stride > 1) b.downsample = make_downsample(64, 64, stride, false, g);
                b.gen = g;
                return std::make_shared<SelectiveKernelBottleneck>(b);
            },
            {2, 64, 10, 9}};
}

Case sk_basic(bool se) {
    return {std::string("SK Basic s2") + (se ? " se" : ""),
            [=](Generator* g) {
                SkBlockConfig b;
                b.inplanes = 32;
                b.planes = 32;
                b.stride = 2;
                if (se) b.attn = {"se", 0.25, 8};
                b.downsample = make_downsample(32, 32, 2, true, g);
                b.gen = g;
                return std::make_shared<SelectiveKernelBasic>(b);
            },
            {2, 32, 9, 9}};
}

Case split_attn(int64_t radix, int64_t groups, bool norm) {
    return {"SplitAttn r" + std::to_string(radix) + " g" + std::to_string(groups) + (norm ? "" : " no-norm"),
            [=](Generator* g) {
                SplitAttnConfig s;
                s.in_channels = 32;
                s.out_channels = 32;
                s.groups = groups;
                s.radix = radix;
                s.norm = norm;
                s.gen = g;
                return std::make_shared<SplitAttn>(s);
            },
            {2, 32, 9, 7}};
}

Case resnest(int64_t radix, int64_t cardinality, int64_t stride, bool avd, bool avd_first) {
    return {"ResNestBottleneck r" + std::to_string(radix) + " c" + std::to_string(cardinality) + " s" +
                std::to_string(stride) + (avd ? (avd_first ? " avd_first" : " avd_last") : ""),
            [=](Generator* g) {
                ResNestBottleneckConfig b;
                b.inplanes = 64;
                b.planes = 16;
                b.stride = stride;
                b.cardinality = cardinality;
                b.base_width = 64;
                b.radix = radix;
                b.avd = avd;
                b.avd_first = avd_first;
                if (stride > 1) b.downsample = make_downsample(64, 64, stride, true, g);
                b.gen = g;
                return std::make_shared<ResNestBottleneck>(b);
            },
            {2, 64, 10, 9}};
}

}  // namespace

TEST_CASE("fused SE gate matches the modules", "[nn][gates]") {
    for (const Case& c : {se_module(), se_bottleneck(1, 1), se_bottleneck(4, 1), se_bottleneck(4, 2)})
        SECTION(c.name) { check_case(c); }
}

TEST_CASE("fused Selective Kernel gate matches the modules", "[nn][gates]") {
    for (const Case& c : {selective_kernel(1, true, 1), selective_kernel(2, false, 2), selective_kernel(4, true, 2),
                          sk_bottleneck(1, 1, false), sk_bottleneck(2, 2, false), sk_bottleneck(2, 1, true),
                          sk_basic(false), sk_basic(true)})
        SECTION(c.name) { check_case(c); }
}

TEST_CASE("fused Split-Attention gate matches the modules", "[nn][gates]") {
    for (const Case& c : {split_attn(1, 1, true), split_attn(1, 2, true), split_attn(2, 1, true),
                          split_attn(2, 2, true), split_attn(4, 2, true), split_attn(2, 2, false),
                          resnest(1, 1, 1, false, false), resnest(2, 1, 1, false, false), resnest(2, 2, 1, false, false),
                          resnest(1, 2, 2, true, false), resnest(2, 1, 2, true, true), resnest(2, 2, 2, true, false)})
        SECTION(c.name) { check_case(c); }
}

// The Selective Kernel attention on unstacked channels-last paths against forward on the stacked
// paths, in float64 (the block's float64 convolutions never hand it channels-last paths).
TEST_CASE("SelectiveKernelAttn's fused weights match forward in float64", "[nn][gates]") {
    Generator gen(31);
    for (int64_t paths : {1, 2, 3}) {
        INFO("paths " << paths);
        SelectiveKernelAttn attn(24, paths, 16, &gen);
        randomize_batch_norms(attn, &gen);
        attn.eval();
        attn.to(DType::Float64);
        std::vector<Tensor> outs;
        for (int64_t i = 0; i < paths; ++i)
            outs.push_back(to_memory_format(randn({2, 24, 7, 6}, DType::Float64, &gen), MemoryFormat::ChannelsLast));
        NoGradGuard ng;
        REQUIRE(attn.can_fuse(outs));
        const Tensor stacked = stack(outs, 1);
        const Tensor ref = sum(stacked * attn.forward(stacked), {1});
        const Tensor y = gated_sum(outs, attn.weights_from_pooled(pool_sum(outs)));
        CHECK(max_rel(y, ref) < 1e-12);
        attn.train();
        CHECK_FALSE(attn.can_fuse(outs));  // train-mode BatchNorm: the modules
    }
}

// Eval mode with a gradient wanted (an input that requires grad) must take the differentiable
// ops: same value, and a gradient that reaches the input.
TEST_CASE("eval with a gradient wanted does not take the fused gates", "[nn][gates]") {
    for (const Case& c : {se_bottleneck(4, 2), sk_bottleneck(2, 2, true), resnest(2, 2, 2, true, false)}) {
        SECTION(c.name) {
            Generator gen(23);
            ModulePtr m = c.build(&gen);
            randomize_batch_norms(*m, &gen);
            m->eval();
            m->to(DType::Float32);
            const Tensor x = to_memory_format(randn(c.input, DType::Float32, &gen), MemoryFormat::ChannelsLast);
            Tensor fused;
            {
                NoGradGuard ng;
                fused = m->forward(x);
            }
            const Tensor xg = set_requires_grad(x.clone());
            const int64_t before = gated_sum_calls();
            const Tensor y = m->forward(xg);
            CHECK(gated_sum_calls() == before);
            CHECK(requires_grad(y));
            CHECK(max_rel(y.to(DType::Float64), fused) < 2e-5);
            backward(sum(y));
            CHECK(grad(xg).defined());
        }
    }
}
