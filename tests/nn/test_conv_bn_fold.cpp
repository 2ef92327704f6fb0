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
#include "ops/dnnl/weight_cache.h"
#include "optim/sgd.h"
#include "tensor/memory_format.h"
#include "tensor/allocator.h"
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

TEST_CASE("a derived weight is made only when stale and kept only in the convolution's layout",
          "[nn][fold]") {
    // conv2d_inference with a DerivedWeight (ops/conv.h): float32 keeps the weight reordered
    // for its primitive (or as made, where the primitive reads the plain layout) and calls
    // make() again only when the key's version moves; float64 makes it on every call.
    Generator gen(5);
    struct Case {
        Shape weight, input;
        int64_t groups;
        MemoryFormat format;
        bool reordered;  // the primitive reads a blocked weight layout: the made tensor is freed
    };
    const std::vector<Case> cases = {
        {{32, 4, 3, 3}, {2, 32, 8, 8}, 8, MemoryFormat::Contiguous, true},
        {{32, 16, 3, 3}, {2, 32, 8, 8}, 2, MemoryFormat::ChannelsLast, true},
        // 4 channels per group, channels-last: our grouped kernel reads the plain layout
        {{32, 4, 3, 3}, {2, 32, 8, 8}, 8, MemoryFormat::ChannelsLast, false},
        {{24, 16, 1, 1}, {3, 16, 1, 1}, 1, MemoryFormat::ChannelsLast, false},  // an fc (Gemm)
    };
    for (const Case& c : cases) {
        INFO("weight " << shape_str(c.weight) << " " << memory_format_name(c.format));
        Conv2dParams params;
        params.groups = c.groups;
        params.padding = {c.weight[2] / 2, c.weight[3] / 2};
        const Tensor w = randn(c.weight, DType::Float32, &gen), b = randn({c.weight[0]}, DType::Float32, &gen);
        const Tensor x = to_memory_format(randn(c.input, DType::Float32, &gen), c.format);
        const Tensor key = zeros({1});
        int made = 0;
        std::weak_ptr<Storage> last_made;
        DerivedWeight dw{w, key, [&] {
                             ++made;
                             Tensor v = w * 2.0;  // a fresh tensor, as a fold makes
                             last_made = v.storage();
                             return v;
                         }};
        NoGradGuard ng;
        Tensor expected;
        {
            const Tensor w2 = w * 2.0;
            expected = conv2d_inference(x, w2, b, params, Tensor(), true);
        }
        CHECK(max_abs_diff(conv2d_inference(x, dw, b, params, Tensor(), true), expected) < 1e-5);
        CHECK(made == 1);
        CHECK(last_made.expired() == c.reordered);
        CHECK(max_abs_diff(conv2d_inference(x, dw, b, params, Tensor(), true), expected) < 1e-5);
        CHECK(made == 1);  // the cached copy served
        key.storage()->bump_version();
        CHECK(max_abs_diff(conv2d_inference(x, dw, b, params, Tensor(), true), expected) < 1e-5);
        CHECK(made == 2);  // stale: made again
        const Tensor w64 = w.to(DType::Float64);
        DerivedWeight dw64{w64, key, [&] {
                               ++made;
                               return w64 * 2.0;
                           }};
        const Tensor y64 = conv2d_inference(x.to(DType::Float64), dw64, b.to(DType::Float64), params,
                                            Tensor(), true);
        conv2d_inference(x.to(DType::Float64), dw64, b.to(DType::Float64), params, Tensor(), true);
        CHECK(made == 4);  // float64 keeps nothing
        CHECK(max_abs_diff(y64, expected.to(DType::Float64)) < 1e-4);
    }
}

TEST_CASE("folding into a convolution holds no plain folded weight", "[nn][fold]") {
    // The BatchNorm keeps b' and a key; the convolution keeps w' in its own layout. A second
    // plain copy of w' would show as one more weight's bytes in use.
    Generator gen(8);
    Pair p(Conv2dOptions(64, 64, 3).padding(1).groups(2).bias(false), &gen);
    const Tensor x = randn({1, 64, 10, 10}, DType::Float32, &gen);
    NoGradGuard ng;
    p.conv.to(DType::Float32);
    p.bn.to(DType::Float32);
    const int64_t before = allocator_stats().bytes_in_use;
    Tensor y = conv_bn_act(p.conv, p.bn, x, true);  // the first call folds and reorders
    const int64_t kept = allocator_stats().bytes_in_use - before - y.numel() * 4;
    const int64_t weight_bytes = p.conv.weight().numel() * 4;
    INFO("kept " << kept << " bytes beside the output; the weight has " << weight_bytes);
    CHECK(kept >= weight_bytes * 9 / 10);  // the reordered copy (sizes are class-rounded)
    CHECK(kept < weight_bytes * 3 / 2);   // and no plain folded one
    const int64_t in_use = allocator_stats().bytes_in_use;
    y = Tensor();
    y = conv_bn_act(p.conv, p.bn, x, true);
    CHECK(allocator_stats().bytes_in_use == in_use);  // steady: nothing made or kept anew
    auto [dw, bias] = p.bn.folded_lazily_into(p.conv);
    CHECK(bias.shape() == Shape{64});
    CHECK(dw.key.numel() == 1);  // the key is one element, not a weight
    CHECK(max_rel(y, reference(p, x, true, Tensor())) < 1e-5);
}

TEST_CASE("training releases the inference copies of the weights it changes", "[nn][fold]") {
    // Between evaluations the optimizer changes every weight, so a copy kept from the last
    // evaluation is stale and only holds memory (a whole network's weights) through training.
    Generator gen(9);
    Pair p(Conv2dOptions(16, 16, 3).padding(1).groups(4).bias(false), &gen);
    p.conv.to(DType::Float32);
    p.bn.to(DType::Float32);
    const Tensor x = randn({2, 16, 6, 6}, DType::Float32, &gen);
    onednn::clear_weight_cache();
    {
        NoGradGuard ng;
        conv_bn_act(p.conv, p.bn, x, true);                 // the folded weight's copy
        conv2d(x, p.conv.weight(), Tensor(), p.conv.params());  // the plain weight's copy
    }
    CHECK(onednn::weight_cache_stats().entries == 2);
    p.conv.train();
    p.bn.train();
    Tensor y = conv_bn_act(p.conv, p.bn, x, true);  // a training forward of both
    CHECK(onednn::weight_cache_stats().entries == 0);
    p.conv.eval();
    p.bn.eval();
    const Tensor ref = reference(p, x, true, Tensor());
    CHECK(max_rel(fused(p, x, true, Tensor(), DType::Float32), ref) < 1e-5);  // refolded
}
