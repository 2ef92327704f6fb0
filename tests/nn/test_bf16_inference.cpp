// bfloat16 inference (ops/precision.h): inside a ConvPrecisionScope the fused inference
// convolutions compute in bf16. Checked against the float64 modules, at bf16's precision (8-bit
// mantissa, float32 sums), for single convolutions in both memory formats and for whole small
// networks of every block family; the scope must restore float32 when it ends.
#include <catch2/catch.hpp>

#include "autograd/grad_mode.h"
#include "models/resnet.h"
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
            CHECK(y.dtype() == DType::Float32);
            CHECK(y.shape() == ref.shape());
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
    CHECK(max_abs_diff(ya, alone(a, bn_a, x)) == 0.0);
    CHECK(max_abs_diff(yb, alone(b, bn_b, x)) == 0.0);
    // An in-place change of x must not be served from the stale conversion.
    x.copy_(randn(x.shape(), DType::Float32, &gen));
    auto [za, zb] = both(x);
    CHECK(max_abs_diff(za, alone(a, bn_a, x)) == 0.0);
    CHECK(max_abs_diff(zb, alone(b, bn_b, x)) == 0.0);
    CHECK(max_abs_diff(za, ya) > 1e-3);
}
