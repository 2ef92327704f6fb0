// The differentiable gate passes of training (split_pool, split_gated_sum in ops/channel_gates.h):
// float64 gradcheck in both layouts, the one-sweep kernels equal to the composed ops in values
// and every gradient, float32 against float64, thread-count independence, and their refusals.
#include <catch2/catch.hpp>

#include "autograd/engine.h"
#include "cnn_test_helpers.h"
#include "ops/arithmetic.h"
#include "ops/channel_gates.h"
#include "ops/reduction.h"
#include "ops/shape_ops.h"
#include "tensor/memory_format.h"
#include "tensor/parallel.h"

using namespace cardinal;
using namespace cardinal::test;

namespace {

// The composed ops split_pool and split_gated_sum replace (what the blocks ran before).
Tensor composed_pool(const Tensor& x, int64_t radix) {
    const int64_t N = x.size(0), C = x.size(1) / radix;
    Tensor xc = contiguous(x, MemoryFormat::Contiguous);
    return mean(sum(reshape(xc, {N, radix, C, x.size(2), x.size(3)}), {1}), {2, 3}, false);
}

Tensor composed_gated(const Tensor& x, const Tensor& w, int64_t radix) {
    const int64_t N = x.size(0), C = x.size(1) / radix;
    Tensor xc = contiguous(x, MemoryFormat::Contiguous);
    return sum(reshape(xc, {N, radix, C, x.size(2), x.size(3)}) * reshape(w, {N, radix, C, 1, 1}), {1});
}

// One scalar-valued use of both ops, as a Split Attention gate uses them: the pooled vector
// scales the weights, so both of x's gradient paths are exercised.
Tensor gate(const std::vector<Tensor>& in, int64_t radix, MemoryFormat format, bool fused) {
    const Tensor x = contiguous(in[0], format);
    const Tensor pooled = fused ? split_pool(x, radix) : composed_pool(x, radix);  // [N, C]
    const int64_t N = x.size(0), C = x.size(1) / radix;
    const Tensor w = in[1] * reshape(pooled, {N, 1, C});                          // [N, R, C]
    return fused ? split_gated_sum(x, w, radix) : composed_gated(x, w, radix);
}

std::vector<Tensor> grads(const std::vector<Tensor>& inputs, int64_t radix, MemoryFormat f, bool fused, Tensor& y) {
    std::vector<Tensor> in;
    for (const Tensor& t : inputs) in.push_back(set_requires_grad(t.clone()));
    y = gate(in, radix, f, fused);
    Generator gen(3);
    backward(y, randn(y.shape(), y.dtype(), &gen));
    return {grad(in[0]), grad(in[1])};
}

}  // namespace

TEST_CASE("split_pool and split_gated_sum gradcheck in both layouts", "[gradcheck][gates]") {
    for (int64_t radix : {1, 2, 3})
        for (MemoryFormat f : {MemoryFormat::Contiguous, MemoryFormat::ChannelsLast}) {
            INFO("radix=" << radix << " " << memory_format_name(f));
            const Tensor x = randn64({2, 2 * radix, 3, 2}, 11 + radix, 1.0, 0.2);
            const Tensor w = randn64({2, radix, 2}, 21 + radix, 0.5, 0.5);
            expect_gradcheck([&](const std::vector<Tensor>& in) { return gate(in, radix, f, true); }, {x, w});
        }
}

TEST_CASE("the one-sweep gate kernels equal the composed ops in values and gradients", "[gates]") {
    for (int64_t radix : {1, 2, 4}) {
        INFO("radix=" << radix);
        // 9 x 11 = 99 pixels: more than one pool chunk, and a partial last one.
        const Tensor x = randn64({3, 5 * radix, 9, 11}, 31, 1.0, 0.1);
        const Tensor w = randn64({3, radix, 5}, 32, 0.5, 0.2);
        Tensor y_fused, y_plain;
        const auto g_fused = grads({x, w}, radix, MemoryFormat::ChannelsLast, true, y_fused);
        const auto g_plain = grads({x, w}, radix, MemoryFormat::Contiguous, false, y_plain);
        CHECK(memory_format_of(y_fused) == MemoryFormat::ChannelsLast);
        CHECK(max_abs_diff(y_fused, y_plain) < 1e-13);
        CHECK(max_abs_diff(g_fused[0], g_plain[0]) < 1e-12);
        CHECK(max_abs_diff(g_fused[1], g_plain[1]) < 1e-11);
    }
}

TEST_CASE("split gates in float32 agree with float64, forward and every gradient", "[gates]") {
    for (int64_t radix : {1, 2}) {
        INFO("radix=" << radix);
        const Tensor x = randn64({2, 6 * radix, 10, 7}, 41, 1.0, 0.3);
        const Tensor w = randn64({2, radix, 6}, 42, 0.5, 0.5);
        check_f32_matches_f64([&](const std::vector<Tensor>& in) { return gate(in, radix, MemoryFormat::ChannelsLast, true); },
                              {x, w});
    }
}

TEST_CASE("split gates on a channel slice read the slice in place", "[gates]") {
    // A pixel-major slice of a wider channels-last tensor (how a conv output may be narrowed).
    const Tensor whole = contiguous(randn64({2, 12, 4, 5}, 51), MemoryFormat::ChannelsLast);
    const Tensor x = whole.narrow(1, 2, 8);
    REQUIRE(pixel_major(x));
    const Tensor w = randn64({2, 2, 4}, 52);
    CHECK(max_abs_diff(split_pool(x, 2), composed_pool(x, 2)) < 1e-14);
    CHECK(max_abs_diff(split_gated_sum(x, w, 2), composed_gated(x, w, 2)) < 1e-14);
}

TEST_CASE("split_gated_sum's weight gradient does not depend on the thread count", "[gates]") {
    // Large enough (2 x 32 x 32 x 32) that the backward sweep runs in parallel.
    const Tensor x = contiguous(randn64({2, 32, 32, 32}, 61), MemoryFormat::ChannelsLast).to(DType::Float32);
    const Tensor w = randn64({2, 2, 16}, 62).to(DType::Float32);
    auto grad_w = [&](int threads) {
        const int before = get_num_threads();
        set_num_threads(threads);
        Tensor xi = set_requires_grad(x.clone()), wi = set_requires_grad(w.clone());
        backward(split_gated_sum(xi, wi, 2), ones({2, 16, 32, 32}));
        set_num_threads(before);
        return grad(wi);
    };
    CHECK(max_abs_diff(grad_w(1), grad_w(2)) == 0.0);
}

TEST_CASE("split gates refuse wrong radix and weights", "[gates]") {
    const Tensor x = contiguous(randn64({2, 6, 3, 3}, 71), MemoryFormat::ChannelsLast);
    CHECK_THROWS_WITH(split_pool(x, 4), Catch::Contains("expected a floating [N, R*C, H, W] input with R = 4"));
    CHECK_THROWS_WITH(split_pool(x, 0), Catch::Contains("radix must be >= 1"));
    CHECK_THROWS_WITH(split_gated_sum(x, randn64({2, 3, 3}, 72), 2),
                      Catch::Contains("expected weights float64 [2, 2, 3]"));
    CHECK_THROWS_WITH(split_gated_sum(x, randn64({2, 2, 3}, 73).to(DType::Float32), 2),
                      Catch::Contains("expected weights float64"));
    CHECK_THROWS_WITH(split_pool(randn64({6, 3}, 74), 1), Catch::Contains("got float64 [6, 3]"));
}
