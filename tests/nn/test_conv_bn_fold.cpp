// Inference fusion (nn/layers/conv_bn_fold.h): the folded convolution with its post-ops must give
// what the modules give one after another, in float32 (against float64) and in float64, in
// either memory format, and must notice when any folded tensor changes.
#include <catch2/catch.hpp>

#include "autograd/grad_mode.h"
#include "autograd/variable.h"
#include "nn/layers/conv_bn_fold.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/conv.h"
#include "optim/sgd.h"
#include "tensor/memory_format.h"
#include "tensor/random.h"

using namespace cardinal;

namespace {

// A conv + BN pair with non-trivial eval statistics.
struct Pair {
    Conv2d conv;
    BatchNorm2d bn;
    Pair(const Conv2dOptions& o, Generator* gen) : conv(o, gen), bn(o.out_channels()) {
        NoGradGuard ng;
        const int64_t c = o.out_channels();
        bn.weight().copy_(uniform({c}, 0.5, 1.5, DType::Float32, gen));
        bn.bias().copy_(normal({c}, 0.0, 0.3, DType::Float32, gen));
        bn.running_mean().copy_(normal({c}, 0.0, 0.5, DType::Float32, gen));
        bn.running_var().copy_(uniform({c}, 0.5, 2.0, DType::Float32, gen));
        conv.to(DType::Float64);
        bn.to(DType::Float64);
        conv.eval();
        bn.eval();
    }
};

// relu?(bn(conv(x)) + residual?) through the plain modules, float64.
Tensor reference(Pair& p, const Tensor& x, bool relu, const Tensor& residual) {
    NoGradGuard ng;
    p.conv.to(DType::Float64);
    p.bn.to(DType::Float64);
    Tensor y = p.bn.forward(p.conv.forward(x.to(DType::Float64).contiguous()));
    if (residual.defined()) y = y + residual.to(DType::Float64).contiguous();
    return relu ? cardinal::relu(y) : y;
}

Tensor fused(Pair& p, const Tensor& x, bool relu, const Tensor& residual, DType dtype) {
    NoGradGuard ng;
    p.conv.to(dtype);
    p.bn.to(dtype);
    REQUIRE(can_fold_conv_bn(p.conv, p.bn, x));
    return conv_bn_act(p.conv, p.bn, x, relu, residual);
}

double max_rel(const Tensor& a, const Tensor& ref) {
    return max_abs_diff(a.to(DType::Float64), ref) / std::max(1.0, max_abs_diff(ref, zeros_like(ref)));
}

}  // namespace

TEST_CASE("conv_bn_act folds BatchNorm and fuses the residual add and ReLU", "[nn][fold]") {
    Generator gen(11);
    struct Case {
        Conv2dOptions options;
        Shape input;
    };
    const std::vector<Case> cases = {
        {Conv2dOptions(16, 32, 1).bias(false), {2, 16, 9, 7}},                          // 1x1
        {Conv2dOptions(32, 32, 3).padding(1).groups(8).bias(false), {2, 32, 8, 8}},     // grouped
        {Conv2dOptions(16, 24, 3).stride(2).padding(2).dilation(2), {1, 16, 11, 10}},  // bias, dilated
        {Conv2dOptions(3, 16, 7).stride(2).padding(3).bias(false), {2, 3, 20, 20}},     // stem
        {Conv2dOptions(64, 32, 1).groups(2), {4, 64, 1, 1}},                             // an fc (Gemm)
    };
    for (const Case& c : cases) {
        Pair p(c.options, &gen);
        Tensor x = randn(c.input, DType::Float32, &gen);
        Tensor probe;
        {
            NoGradGuard ng;
            p.conv.to(DType::Float32);
            probe = p.conv.forward(x);
        }
        Tensor residual = randn(probe.shape(), DType::Float32, &gen);
        for (MemoryFormat f : {MemoryFormat::Contiguous, MemoryFormat::ChannelsLast}) {
            const Tensor xf = to_memory_format(x, f), rf = to_memory_format(residual, f);
            for (bool relu : {false, true})
                for (bool with_residual : {false, true}) {
                    const Tensor r = with_residual ? rf : Tensor();
                    const Tensor ref = reference(p, x, relu, r);
                    const Tensor y32 = fused(p, xf, relu, r, DType::Float32);
                    const Tensor y64 = fused(p, xf.to(DType::Float64), relu,
                                             r.defined() ? r.to(DType::Float64) : r, DType::Float64);
                    INFO("conv " << p.conv.repr() << " input " << shape_str(c.input) << " "
                                 << memory_format_name(f) << " relu " << relu << " residual "
                                 << with_residual);
                    CHECK(y32.shape() == ref.shape());
                    CHECK(max_rel(y32, ref) < 1e-5);
                    CHECK(max_rel(y64, ref) < 1e-12);
                    if (f == MemoryFormat::ChannelsLast) CHECK(is_channels_last(y32));
                }
        }
    }
}

TEST_CASE("conv_bn_act refolds when a folded tensor changes", "[nn][fold]") {
    Generator gen(3);
    Pair p(Conv2dOptions(8, 8, 3).padding(1).bias(false), &gen);
    Tensor x = randn({2, 8, 6, 6}, DType::Float32, &gen);
    auto check_now = [&](const char* after) {
        INFO("after " << after);
        CHECK(max_rel(fused(p, x, true, Tensor(), DType::Float32), reference(p, x, true, Tensor())) < 1e-5);
    };
    check_now("construction");
    {
        NoGradGuard ng;
        p.conv.to(DType::Float32);
        p.conv.weight().copy_(randn(p.conv.weight().shape(), DType::Float32, &gen));  // copy_
    }
    check_now("conv.weight.copy_");
    {
        NoGradGuard ng;
        p.bn.to(DType::Float32);
        p.bn.running_mean().fill_(0.25);  // fill_
    }
    check_now("bn.running_mean.fill_");
    {
        // An optimizer step writes through raw pointers; it must count as a change too.
        p.conv.to(DType::Float32);
        p.bn.to(DType::Float32);
        set_grad(p.bn.bias(), ones({8}));
        SGDOptions options;
        options.lr = 0.5;
        SGD sgd(std::vector<Tensor>{p.bn.bias()}, options);
        sgd.step();
    }
    check_now("SGD step on bn.bias");
}

TEST_CASE("conv2d_inference refuses inputs that need a gradient", "[nn][fold]") {
    Generator gen(1);
    Tensor x = set_requires_grad(randn({1, 4, 5, 5}, DType::Float32, &gen));
    Tensor w = randn({4, 4, 3, 3}, DType::Float32, &gen);
    Conv2dParams params;
    params.padding = {1, 1};
    CHECK_THROWS_WITH(conv2d_inference(x, w, Tensor(), params, Tensor(), true),
                      Catch::Contains("has no backward"));
    Tensor bad = zeros({1, 4, 4, 4});
    NoGradGuard ng;
    CHECK_THROWS_WITH(conv2d_inference(x, w, Tensor(), params, bad, true),
                      Catch::Contains("residual"));
}
