// Node::saved_bytes: every op's node reports the bytes it keeps for backward (what `cardinal
// graph --values` prints), computed here from the shapes by hand, and 0 once backward has
// released them.
#include <catch2/catch.hpp>
#include <functional>
#include <string>

#include "autograd/engine.h"
#include "autograd/variable.h"
#include "ops/ops.h"
#include "tensor/random.h"

using namespace cardinal;

namespace {

constexpr size_t f64 = 8, i64 = 8, i32 = 4;

size_t elems(const Shape& s) { return static_cast<size_t>(shape_numel(s)); }

Tensor leaf(const Shape& shape, Generator& gen) {
    return set_requires_grad(randn(shape, DType::Float64, &gen));
}

// The node that produced y reports `expected` bytes, holds them after a backward that retains
// the graph, and reports 0 after one that releases it.
void check_saved(const std::string& what, const Tensor& y, size_t expected) {
    INFO(what);
    std::shared_ptr<Node> node = grad_fn(y);
    REQUIRE(node != nullptr);
    CHECK(node->saved_bytes() == expected);
    Tensor root = sum(y);
    backward(root, Tensor(), /*retain_graph=*/true);
    CHECK(node->saved_bytes() == expected);
    backward(root);
    CHECK(node->saved_bytes() == 0);
}

}  // namespace

TEST_CASE("saved_bytes: elementwise, linear and loss nodes", "[autograd][saved_bytes]") {
    Generator gen(3);
    const Shape s{2, 3, 4, 4};
    Tensor a = leaf(s, gen), b = leaf(s, gen);
    Tensor pos = set_requires_grad(add(exp(a.alias()), 1.0).alias());  // > 0 for log and sqrt
    const size_t x = elems(s) * f64;

    check_saved("relu saves x", relu(a), x);
    check_saved("sigmoid saves y", sigmoid(a), x);
    check_saved("tanh saves y", tanh(a), x);
    check_saved("softmax saves y", softmax(a, 1), x);
    check_saved("log_softmax saves y", log_softmax(a, 1), x);
    check_saved("exp saves y", exp(a), x);
    check_saved("log saves x", log(pos), x);
    check_saved("sqrt saves y", sqrt(pos), x);
    check_saved("pow saves x", pow(a, 3.0), x);
    check_saved("mul saves both", mul(a, b), 2 * x);
    check_saved("div saves b and z", div(a, pos), 2 * x);
    check_saved("add saves nothing", add(a, b), 0);
    check_saved("add_relu saves y (its mask)", add_relu(a, b), x);
    check_saved("a view saves nothing", reshape(a, {6, 16}), 0);
    check_saved("mean saves nothing", mean(a, {2, 3}, true), 0);
    check_saved("max saves int64 indices", max(a, 1), 2 * 4 * 4 * i64);

    Tensor m = leaf({5, 7}, gen), w = leaf({3, 7}, gen), bias = leaf({3}, gen);
    check_saved("matmul saves both", matmul(m, transpose(w, 0, 1)), (35 + 21) * f64);
    check_saved("linear saves x and weight", linear(m, w, bias), (35 + 21) * f64);
    check_saved("linear with a constant input saves only x", linear(detach(m), w, bias), 35 * f64);

    Tensor logits = leaf({5, 3}, gen);
    Tensor targets = from_vector_i64({0, 2, 1, 1, 0}, {5});
    check_saved("cross_entropy saves probabilities and targets", cross_entropy(logits, targets),
                15 * f64 + 5 * i64);
    check_saved("mse saves the difference", mse_loss(logits, zeros({5, 3}, DType::Float64)),
                15 * f64);
}

TEST_CASE("saved_bytes: convolution, BatchNorm, pooling and drop nodes",
          "[autograd][saved_bytes]") {
    Generator gen(5);
    Tensor x = leaf({2, 4, 5, 5}, gen), w = leaf({6, 2, 3, 3}, gen), b = leaf({6}, gen);
    const size_t xb = 200 * f64, wb = 108 * f64;
    Conv2dParams p;
    p.groups = 2;
    p.padding = {1, 1};
    check_saved("conv2d saves input and weight", conv2d(x, w, b, p), xb + wb);
    // Rectified: also the [H', W'] factor of the border rescaling.
    check_saved("rectified_conv2d saves the factor too", rectified_conv2d(x, w, b, p, false),
                xb + wb + 25 * f64);

    Tensor gamma = leaf({4}, gen), beta = leaf({4}, gen);
    Tensor rm = zeros({4}, DType::Float64), rv = ones({4}, DType::Float64);
    // x, gamma, and the per-channel mean and 1/std (doubles).
    check_saved("batch_norm2d train", batch_norm2d(x, gamma, beta, rm, rv, true),
                xb + 4 * f64 + 2 * 4 * 8);
    check_saved("batch_norm2d eval", batch_norm2d(x, gamma, beta, rm, rv, false),
                xb + 4 * f64 + 2 * 4 * 8);

    // One int32 argmax per output element.
    check_saved("max_pool2d saves the argmax", max_pool2d(x, {3, 3}, {2, 2}, {1, 1}),
                2 * 4 * 3 * 3 * i32);
    check_saved("adaptive_max_pool2d saves the argmax", adaptive_max_pool2d(x, {2, 2}),
                2 * 4 * 2 * 2 * i32);
    check_saved("avg_pool2d saves nothing", avg_pool2d(x, {2, 2}), 0);
    check_saved("global_avg_pool2d saves nothing", global_avg_pool2d(x), 0);

    Generator drop(11);
    check_saved("dropout saves its mask", dropout(x, 0.5, true, &drop), xb);
    check_saved("drop_path saves one factor per sample", drop_path(x, 0.5, true, &drop), 2 * 8);
}
