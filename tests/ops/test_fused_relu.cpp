// The fused ReLU ops of the training path: batch_norm2d_relu (BatchNorm with the ReLU inside
// its sweeps) and add_relu (a residual tail). Each must equal the composed ops it replaces:
// float64 gradcheck, float64 values and gradients identical to the composition, float32 in
// both memory formats against float64, and its output layout.
#include <algorithm>
#include <catch2/catch.hpp>

#include "autograd/engine.h"
#include "cnn_test_helpers.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/batch_norm.h"
#include "tensor/memory_format.h"

using namespace cardinal;
using namespace cardinal::test;

namespace {

Tensor running(int64_t C, uint64_t seed, double scale, double shift, DType dt) {
    return randn64({C}, seed, scale, shift).to(dt).clone();
}

// Both fused ops with fresh running statistics, so every call sees the same ones.
Tensor bn_relu(const std::vector<Tensor>& in, bool training, bool fused) {
    const int64_t C = in[0].size(1);
    Tensor rm = running(C, 41, 0.2, 0.3, in[0].dtype());
    Tensor rv = kernels::add_scalar(kernels::abs(running(C, 42, 0.0, 1.0, in[0].dtype())), 0.5);
    return fused ? batch_norm2d_relu(in[0], in[1], in[2], rm, rv, training)
                 : relu(batch_norm2d(in[0], in[1], in[2], rm, rv, training));
}

// The gradients of sum(fn(inputs) * v) with respect to every input, float64.
std::vector<Tensor> grads_of(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                             const std::vector<Tensor>& inputs, Tensor& out) {
    std::vector<Tensor> in;
    for (const Tensor& t : inputs) {  // fresh leaves in the inputs' own layouts
        Tensor leaf = empty_with_layout_of(t, t.shape(), t.dtype());
        leaf.copy_(t);
        in.push_back(set_requires_grad(leaf));
    }
    out = fn(in);
    Generator gen(7);
    backward(out, randn(out.shape(), out.dtype(), &gen));
    std::vector<Tensor> g;
    for (const Tensor& t : in) g.push_back(grad(t));
    return g;
}

}  // namespace

TEST_CASE("batch_norm2d_relu gradcheck, train and eval", "[gradcheck][fused]") {
    for (bool training : {true, false}) {
        INFO("training=" << training);
        Tensor x = randn64({3, 4, 3, 2}, 51, 0.5, 1.0);
        Tensor w = randn64({4}, 52, 1.0, 0.5), b = randn64({4}, 53, 0.0, 0.5);
        expect_gradcheck([&](const std::vector<Tensor>& in) { return bn_relu(in, training, true); },
                         {x, w, b});
    }
}

TEST_CASE("batch_norm2d_relu equals relu(batch_norm2d) in values and gradients", "[fused]") {
    for (bool training : {true, false})
        for (MemoryFormat f : {MemoryFormat::Contiguous, MemoryFormat::ChannelsLast}) {
            INFO("training=" << training << " " << memory_format_name(f));
            const Tensor x = to_memory_format(randn64({4, 6, 5, 3}, 61, 0.3, 1.5), f);
            const Tensor w = randn64({6}, 62, 1.0, 0.5), b = randn64({6}, 63, 0.0, 0.5);
            Tensor y_fused, y_plain;
            auto fused = [&](const std::vector<Tensor>& in) { return bn_relu(in, training, true); };
            auto plain = [&](const std::vector<Tensor>& in) { return bn_relu(in, training, false); };
            const auto g_fused = grads_of(fused, {x, w, b}, y_fused);
            const auto g_plain = grads_of(plain, {x, w, b}, y_plain);
            CHECK(max_abs_diff(y_fused, y_plain) < 1e-14);
            CHECK(memory_format_of(y_fused) == f);
            for (size_t i = 0; i < 3; ++i) {
                INFO("input " << i);
                CHECK(max_abs_diff(g_fused[i], g_plain[i]) < 1e-12);
            }
            const std::vector<double> values = y_fused.to_vector();
            CHECK(*std::min_element(values.begin(), values.end()) == 0.0);  // some were clipped
            // float32 (this layout) against float64
            check_f32_matches_f64(fused, {x, w, b});
        }
}

TEST_CASE("add_relu gradcheck and equality with relu(a + b)", "[gradcheck][fused]") {
    Tensor a = randn64({2, 3, 4, 5}, 71), b = randn64({2, 3, 4, 5}, 72);
    expect_gradcheck([](const std::vector<Tensor>& in) { return add_relu(in[0], in[1]); }, {a, b});
    for (MemoryFormat fa : {MemoryFormat::Contiguous, MemoryFormat::ChannelsLast})
        for (MemoryFormat fb : {MemoryFormat::Contiguous, MemoryFormat::ChannelsLast}) {
            INFO("a " << memory_format_name(fa) << " b " << memory_format_name(fb));
            const Tensor al = to_memory_format(a, fa), bl = to_memory_format(b, fb);
            Tensor y_fused, y_plain;
            auto fused = [](const std::vector<Tensor>& in) { return add_relu(in[0], in[1]); };
            auto plain = [](const std::vector<Tensor>& in) { return relu(in[0] + in[1]); };
            const auto g_fused = grads_of(fused, {al, bl}, y_fused);
            const auto g_plain = grads_of(plain, {al, bl}, y_plain);
            CHECK(max_abs_diff(y_fused, y_plain) == 0.0);
            CHECK(memory_format_of(y_fused) == fa);
            for (size_t i = 0; i < 2; ++i) CHECK(max_abs_diff(g_fused[i], g_plain[i]) == 0.0);
            check_f32_matches_f64(fused, {al, bl});
        }
    // Broadcasting falls back to the composed ops (same values).
    Tensor row = randn64({1, 3, 1, 1}, 73);
    CHECK(max_abs_diff(add_relu(a, row), relu(a + row)) == 0.0);
    CHECK_THROWS_AS(add_relu(a, randn64({2, 4, 4, 5}, 74)), ShapeError);
}

TEST_CASE("add_relu's shared gradient survives accumulation into one input", "[fused]") {
    // x feeds both sides: dL/dx = 2 * g * [y > 0]; a shared gradient buffer must not be
    // accumulated in place into itself.
    Tensor x = set_requires_grad(randn64({2, 3, 4, 4}, 81));
    Tensor y = add_relu(x, x);
    Tensor v = randn64({2, 3, 4, 4}, 82);
    backward(y, v);
    Tensor expected = kernels::mul(kernels::mul_scalar(v, 2.0), kernels::greater_scalar(x, 0.0));
    CHECK(max_abs_diff(grad(x), expected) < 1e-15);
}
