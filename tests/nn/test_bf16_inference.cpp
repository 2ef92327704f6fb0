// bfloat16 inference (ops/precision.h): inside a ConvPrecisionScope the fused inference
// convolutions compute in bf16 and write bf16 activations, which the attention gates and the
// pools read. Checked against the float64 modules, at bf16's precision (8-bit
// mantissa, float32 sums), for single convolutions in both memory formats and for whole small
// networks of every block family; the scope must restore float32 when it ends.
#include <catch2/catch.hpp>

#include "autograd/grad_mode.h"
#include "models/resnet.h"
#include "nn/blocks/se.h"
#include "ops/channel_gates.h"
#include "ops/pooling.h"
#include "ops/reduction.h"

#include <cmath>
#include <tuple>
#include "models/resnet_config.h"
#include "nn/layers/conv_bn_fold.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/precision.h"
#include "tensor/memory_format.h"
#include "tensor/random.h"

using namespace cardinal;

namespace {

double max_rel(const Tensor& a, const Tensor& ref) {
    return max_abs_diff(a.to(DType::Float64), ref) /
           std::max(1.0, max_abs_diff(ref, zeros_like(ref)));
}

Tensor f32(const Tensor& t) { return t.to(DType::Float32); }

// bf16 keeps 8 significant bits (relative step 2^-8): products are rounded to it, sums are float32.
constexpr double kBf16Tolerance = 2e-2;

}  // namespace

TEST_CASE("ConvPrecisionScope sets and restores the thread's convolution precision", "[bf16]") {
    CHECK(conv_precision() == ConvPrecision::Float32);
    if (!bfloat16_supported()) {
        CHECK_THROWS_WITH(ConvPrecisionScope(ConvPrecision::BFloat16),
                          Catch::Contains("AVX512-BF16 or AMX"));
        return;
    }
    {
        ConvPrecisionScope outer(ConvPrecision::BFloat16);
        CHECK(conv_precision() == ConvPrecision::BFloat16);
        {
            ConvPrecisionScope inner(ConvPrecision::Float32);
            CHECK(conv_precision() == ConvPrecision::Float32);
        }
        CHECK(conv_precision() == ConvPrecision::BFloat16);
    }
    CHECK(conv_precision() == ConvPrecision::Float32);
}

TEST_CASE("bf16 conv_bn_act matches the float64 modules at bf16 precision", "[bf16]") {
    if (!bfloat16_supported()) {
        WARN("skipped: this CPU has no native bf16 (oneDNN sees " << cpu_isa_name() << ")");
        return;
    }
    Generator gen(5);
    struct Case {
        Conv2dOptions options;
        Shape input;
    };
    const std::vector<Case> cases = {
        {Conv2dOptions(32, 64, 1).bias(false), {2, 32, 9, 7}},                          // 1x1
        {Conv2dOptions(64, 64, 3).padding(1).groups(16).bias(false), {2, 64, 8, 8}},    // grouped
        {Conv2dOptions(32, 48, 3).stride(2).padding(2).dilation(2), {1, 32, 11, 10}},  // bias, dilated
        {Conv2dOptions(3, 32, 7).stride(2).padding(3).bias(false), {2, 3, 20, 20}},     // stem
    };
    for (const Case& c : cases) {
        Conv2d conv(c.options, &gen);
        BatchNorm2d bn(c.options.out_channels());
        const int64_t o = c.options.out_channels();
        {
            NoGradGuard ng;
            bn.weight().copy_(uniform({o}, 0.5, 1.5, DType::Float32, &gen));
            bn.bias().copy_(normal({o}, 0.0, 0.3, DType::Float32, &gen));
            bn.running_mean().copy_(normal({o}, 0.0, 0.5, DType::Float32, &gen));
            bn.running_var().copy_(uniform({o}, 0.5, 2.0, DType::Float32, &gen));
        }
        conv.eval();
        bn.eval();
        const Tensor x = randn(c.input, DType::Float32, &gen);
        NoGradGuard ng;
        const Tensor y32 = conv_bn_act(conv, bn, x, false);
        const Tensor residual = randn(y32.shape(), DType::Float32, &gen);
        conv.to(DType::Float64);
        bn.to(DType::Float64);
        const Tensor ref = relu(bn.forward(conv.forward(x.to(DType::Float64))) +
                                residual.to(DType::Float64));
        conv.to(DType::Float32);
        bn.to(DType::Float32);
        for (MemoryFormat f : {MemoryFormat::Contiguous, MemoryFormat::ChannelsLast}) {
            INFO("conv " << conv.repr() << " input " << shape_str(c.input) << " "
                         << memory_format_name(f));
            const Tensor xf = to_memory_format(x, f), rf = to_memory_format(residual, f);
            Tensor y;
            {
                ConvPrecisionScope bf16(ConvPrecision::BFloat16);
                y = conv_bn_act(conv, bn, xf, true, rf);
            }
            CHECK(y.dtype() == DType::BFloat16);  // the activations stay bf16
            CHECK(y.shape() == ref.shape());
            CHECK(is_channels_last(y) == (f == MemoryFormat::ChannelsLast));
            const double err = max_rel(y, ref);
            CHECK(err < kBf16Tolerance);
            CHECK(err > 1e-6);  // bf16 really ran: float32 would be within ~1e-6
            // After the scope: float32 again, to float32's precision.
            CHECK(max_rel(conv_bn_act(conv, bn, xf, true, rf), ref) < 1e-5);
        }
    }
}

TEST_CASE("bf16 inference of whole networks stays close to float64", "[bf16]") {
    if (!bfloat16_supported()) {
        WARN("skipped: this CPU has no native bf16 (oneDNN sees " << cpu_isa_name() << ")");
        return;
    }
    for (const char* name : {"resnext_small", "seresnext_small", "skresnext_small", "resnest_small"}) {
        INFO(name);
        Generator gen(17);
        ResNetConfig config = model_info(name).config;
        ResNet model(config, &gen);
        model.eval();
        const Tensor x = randn({4, config.in_chans, 28, 28}, DType::Float32, &gen);
        NoGradGuard ng;
        Tensor y;
        {
            ConvPrecisionScope bf16(ConvPrecision::BFloat16);
            y = model.forward(x);
        }
        model.to(DType::Float64);
        const Tensor ref = model.forward(x.to(DType::Float64));
        CHECK(y.dtype() == DType::Float32);
        CHECK(y.shape() == ref.shape());
        CHECK(max_rel(y, ref) < 5e-2);
    }
}

TEST_CASE("bf16 convolutions share a converted input only while it is unchanged", "[bf16]") {
    if (!bfloat16_supported()) {
        WARN("skipped: this CPU has no native bf16 (oneDNN sees " << cpu_isa_name() << ")");
        return;
    }
    Generator gen(23);
    Conv2d a(Conv2dOptions(16, 16, 3).padding(1).bias(false), &gen);
    Conv2d b(Conv2dOptions(16, 16, 3).padding(2).dilation(2).bias(false), &gen);
    BatchNorm2d bn_a(16), bn_b(16);
    for (Module* m : std::initializer_list<Module*>{&a, &b, &bn_a, &bn_b}) m->eval();
    Tensor x = to_memory_format(randn({2, 16, 9, 9}, DType::Float32, &gen), MemoryFormat::ChannelsLast);
    NoGradGuard ng;
    auto both = [&](const Tensor& in) {
        ConvPrecisionScope bf16(ConvPrecision::BFloat16);
        return std::make_pair(conv_bn_act(a, bn_a, in, false), conv_bn_act(b, bn_b, in, false));
    };
    auto alone = [&](Conv2d& conv, BatchNorm2d& bn, const Tensor& in) {
        ConvPrecisionScope bf16(ConvPrecision::BFloat16);
        return conv_bn_act(conv, bn, in.clone().contiguous(), false);  // a fresh storage
    };
    auto [ya, yb] = both(x);  // b reuses a's converted x
    CHECK(max_abs_diff(f32(ya), f32(alone(a, bn_a, x))) == 0.0);
    CHECK(max_abs_diff(f32(yb), f32(alone(b, bn_b, x))) == 0.0);
    // An in-place change of x must not be served from the stale conversion.
    x.copy_(randn(x.shape(), DType::Float32, &gen));
    auto [za, zb] = both(x);
    CHECK(max_abs_diff(f32(za), f32(alone(a, bn_a, x))) == 0.0);
    CHECK(max_abs_diff(f32(zb), f32(alone(b, bn_b, x))) == 0.0);
    CHECK(max_abs_diff(f32(za), f32(ya)) > 1e-3);
}

TEST_CASE("bfloat16 tensors round to nearest even and convert back exactly", "[bf16]") {
    // bf16 steps by 2^-7 at 1.0: 1 + 2^-8 is a tie and goes to the even mantissa (1.0), 1 + 3*2^-8
    // is a tie that goes up to the even 1 + 2^-6; representable values survive unchanged.
    const Tensor x = from_vector({1.0, 1.0 + std::ldexp(1.0, -8), 1.0 + 3 * std::ldexp(1.0, -8), -2.5,
                                  std::ldexp(1.0, -100), 3.0e38},
                                 {6}, DType::Float32);
    const Tensor b = x.to(DType::BFloat16);
    CHECK(b.dtype() == DType::BFloat16);
    const std::vector<double> back = b.to_vector();
    CHECK(back[0] == 1.0);
    CHECK(back[1] == 1.0);
    CHECK(back[2] == 1.0 + std::ldexp(1.0, -6));
    CHECK(back[3] == -2.5);
    CHECK(back[4] == std::ldexp(1.0, -100));
    CHECK(std::abs(back[5] - 3.0e38) / 3.0e38 < std::ldexp(1.0, -8));
    // float32_activation keeps the layout and is the identity on float32.
    Generator gen(3);
    const Tensor m = to_memory_format(randn({2, 5, 3, 4}, DType::Float32, &gen), MemoryFormat::ChannelsLast);
    const Tensor mb = to_memory_format(m, MemoryFormat::ChannelsLast).to(DType::BFloat16);
    const Tensor cl = empty(m.shape(), DType::BFloat16, MemoryFormat::ChannelsLast);
    cl.copy_(m);
    const Tensor back_cl = float32_activation(cl);
    CHECK(back_cl.dtype() == DType::Float32);
    CHECK(is_channels_last(back_cl));
    CHECK(max_abs_diff(back_cl, f32(mb)) == 0.0);
    CHECK(max_abs_diff(back_cl, m) < 1e-2 * 4);
    CHECK(float32_activation(m).is_same(m));
    // Arithmetic refuses bf16 with one clear message.
    CHECK_THROWS_WITH(mb + mb, Catch::Contains("bfloat16"));
}

namespace {

// A channels-last bfloat16 copy of x and the float64 tensor of exactly its values.
std::pair<Tensor, Tensor> bf16_and_exact(const Tensor& x) {
    Tensor b = empty(x.shape(), DType::BFloat16, MemoryFormat::ChannelsLast);
    b.copy_(x);
    return {b, b.to(DType::Float64)};
}

}  // namespace

TEST_CASE("the attention gates read bf16 paths like float64 reads their values", "[bf16]") {
    Generator gen(29);
    NoGradGuard ng;
    for (int64_t P : {1, 2, 3}) {
        for (bool with_residual : {false, true}) {
            for (DType residual_dtype : {DType::BFloat16, DType::Float32}) {
                if (!with_residual && residual_dtype == DType::Float32) continue;
                INFO("paths " << P << " residual " << with_residual << " " << dtype_name(residual_dtype));
                const Shape shape{2, 24, 5, 3};
                std::vector<Tensor> paths, exact;
                for (int64_t p = 0; p < P; ++p) {
                    auto [b, e] = bf16_and_exact(randn(shape, DType::Float32, &gen));
                    paths.push_back(b);
                    exact.push_back(e);
                }
                // pool_sum: float32 [N, C] from the bf16 values, sums in double.
                const Tensor s = pool_sum(paths);
                CHECK(s.dtype() == DType::Float32);
                Tensor total = exact[0];
                for (int64_t p = 1; p < P; ++p) total = total + exact[p];
                CHECK(max_abs_diff(s.to(DType::Float64), mean(total, {2, 3}, false)) < 1e-6);
                // gated_sum: float32 gates, a bf16 or float32 residual, a bf16 result.
                const Tensor w = rand({2, P, 24}, DType::Float32, &gen);
                Tensor res, res_exact;
                if (with_residual) {
                    const Tensor r = to_memory_format(randn(shape, DType::Float32, &gen), MemoryFormat::ChannelsLast);
                    if (residual_dtype == DType::BFloat16) std::tie(res, res_exact) = bf16_and_exact(r);
                    else res = r, res_exact = r.to(DType::Float64);
                }
                for (bool relu_on : {false, true}) {
                    const Tensor y = gated_sum(paths, w, res, relu_on);
                    CHECK(y.dtype() == DType::BFloat16);
                    CHECK(is_channels_last(y));
                    const Tensor w64 = w.to(DType::Float64);
                    Tensor ref = exact[0] * w64.narrow(1, 0, 1).reshape({2, 24, 1, 1});
                    for (int64_t p = 1; p < P; ++p) ref = ref + exact[p] * w64.narrow(1, p, 1).reshape({2, 24, 1, 1});
                    if (with_residual) ref = ref + res_exact;
                    if (relu_on) ref = relu(ref);
                    // One bf16 rounding of the result: relative 2^-9.
                    CHECK(max_rel(y, ref) < std::ldexp(1.0, -8));
                }
            }
        }
    }
    // A channel slice of a bf16 map is a path too (Split Attention's radix splits).
    auto [b, e] = bf16_and_exact(randn({2, 32, 4, 4}, DType::Float32, &gen));
    const std::vector<Tensor> splits = radix_splits(b, 2);
    CHECK(max_abs_diff(pool_sum(splits).to(DType::Float64),
                       mean(e.narrow(1, 0, 16) + e.narrow(1, 16, 16), {2, 3}, false)) < 1e-6);
}

TEST_CASE("SE on a bf16 activation matches the float64 module", "[bf16]") {
    Generator gen(31);
    SEModule se(32, 1.0 / 4, 8, &gen);
    se.eval();
    NoGradGuard ng;
    auto [x, x_exact] = bf16_and_exact(randn({2, 32, 6, 5}, DType::Float32, &gen));
    auto [r, r_exact] = bf16_and_exact(randn({2, 32, 6, 5}, DType::Float32, &gen));
    const Tensor y = se.forward_fused(x, r, true);
    CHECK(y.dtype() == DType::BFloat16);
    se.to(DType::Float64);
    const Tensor ref = se.forward_fused(to_memory_format(x_exact, MemoryFormat::Contiguous),
                                        to_memory_format(r_exact, MemoryFormat::Contiguous), true);
    CHECK(max_rel(y, ref) < 1e-2);
}

TEST_CASE("the pools read bf16 activations in float32", "[bf16]") {
    Generator gen(37);
    NoGradGuard ng;
    auto [x, exact] = bf16_and_exact(randn({2, 16, 9, 7}, DType::Float32, &gen));
    const Tensor xe = to_memory_format(exact, MemoryFormat::Contiguous);
    const Tensor mp = max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
    CHECK(mp.dtype() == DType::Float32);
    CHECK(max_abs_diff(mp.to(DType::Float64), max_pool2d(xe, {3, 3}, {2, 2}, {1, 1})) == 0.0);
    const Tensor ap = avg_pool2d(x, {3, 3}, {2, 2}, {1, 1});
    CHECK(max_abs_diff(ap.to(DType::Float64), avg_pool2d(xe, {3, 3}, {2, 2}, {1, 1})) < 1e-6);
    const Tensor gp = global_avg_pool2d(x);
    CHECK(gp.dtype() == DType::Float32);
    CHECK(max_abs_diff(gp.to(DType::Float64), global_avg_pool2d(xe)) < 1e-6);
}

TEST_CASE("bf16 convolutions read a bf16 input and a bf16 or float32 residual", "[bf16]") {
    if (!bfloat16_supported()) {
        WARN("skipped: this CPU has no native bf16 (oneDNN sees " << cpu_isa_name() << ")");
        return;
    }
    Generator gen(41);
    NoGradGuard ng;
    // 1x1, grouped 4 channels per group (our float32 kernel's shape: bf16 keeps oneDNN), 3x3.
    for (auto [options, groups] : {std::pair{Conv2dOptions(32, 64, 1), 1}, std::pair{Conv2dOptions(32, 32, 3).padding(1).groups(8), 8},
                                   std::pair{Conv2dOptions(32, 16, 3).padding(1).stride(2), 1}}) {
        INFO("groups " << groups);
        Conv2dOptions o = options;
        Conv2d conv(o.bias(false), &gen);
        BatchNorm2d bn(options.out_channels());
        conv.eval();
        bn.eval();
        auto [x, x_exact] = bf16_and_exact(randn({2, 32, 8, 8}, DType::Float32, &gen));
        const Shape out = conv.forward(to_memory_format(x_exact.to(DType::Float32), MemoryFormat::ChannelsLast)).shape();
        for (DType rd : {DType::BFloat16, DType::Float32}) {
            const Tensor r32 = to_memory_format(randn(out, DType::Float32, &gen), MemoryFormat::ChannelsLast);
            const Tensor r = rd == DType::Float32 ? r32 : bf16_and_exact(r32).first;
            Tensor y;
            {
                ConvPrecisionScope bf16(ConvPrecision::BFloat16);
                y = conv_bn_act(conv, bn, x, true, r);
            }
            CHECK(y.dtype() == DType::BFloat16);
            CHECK(is_channels_last(y));
            conv.to(DType::Float64);
            bn.to(DType::Float64);
            const Tensor ref = relu(bn.forward(conv.forward(to_memory_format(x_exact, MemoryFormat::Contiguous))) +
                                    r.to(DType::Float64));
            conv.to(DType::Float32);
            bn.to(DType::Float32);
            const double err = max_rel(y, ref);
            CHECK(err < kBf16Tolerance);
            CHECK(err > 1e-6);
        }
    }
}
