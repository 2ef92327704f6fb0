// The user-visible contract of autograd: when gradients appear, accumulate, are freed, and how
// misuse and numerical trouble are reported.
#include <catch2/catch.hpp>

#include "autograd/dot.h"
#include "autograd/engine.h"
#include "autograd/function.h"
#include "autograd/gradcheck.h"
#include "autograd/variable.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/math.h"
#include "ops/reduction.h"
#include "tensor/kernels.h"
#include "tensor/random.h"

using namespace cardinal;
using Catch::Contains;

namespace {

Tensor leaf(const std::vector<double>& v, const Shape& s) {
    return set_requires_grad(from_vector(v, s, DType::Float64));
}

// y = 2x with a backward that is off by a factor (3g instead of 2g): gradcheck must catch it.
struct WrongDoubleBackward : Node {
    std::string name() const override { return "WrongDoubleBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        return {kernels::mul_scalar(g[0], 3.0)};
    }
};

// A backward that forgets to return anything for its input.
struct SilentBackward : Node {
    std::string name() const override { return "SilentBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&&) override { return {}; }
};

Tensor silent_identity(const Tensor& x) {
    Tensor y = x.clone();
    if (auto node = make_node<SilentBackward>({x})) record(node, {y});
    return y;
}

Tensor wrong_double(const Tensor& x) {
    Tensor y = kernels::mul_scalar(x, 2.0);
    if (auto node = make_node<WrongDoubleBackward>({x})) record(node, {y});
    return y;
}

}  // namespace

TEST_CASE("backward on a scalar and with an explicit gradient", "[autograd]") {
    Tensor x = leaf({1, 2, 3}, {3});
    backward(sum(mul(x, x)));  // d/dx sum x^2 = 2x
    CHECK(grad(x).to_vector() == std::vector<double>{2, 4, 6});
    zero_grad(x);
    Tensor y = mul(x, 3.0);
    backward(y, from_vector({1, 0, -1}, {3}, DType::Float64));
    CHECK(grad(x).to_vector() == std::vector<double>{3, 0, -3});
    // A non-scalar root needs an explicit gradient.
    CHECK_THROWS_AS(backward(mul(x, 3.0)), AutogradError);
    CHECK_THROWS_WITH(backward(mul(x, 3.0)), Contains("one-element"));
    // A wrongly shaped explicit gradient is refused.
    CHECK_THROWS_AS(backward(mul(x, 3.0), ones({2}, DType::Float64)), ShapeError);
    // A tensor outside any graph cannot be differentiated.
    CHECK_THROWS_AS(backward(sum(from_vector({1.0}, {1}, DType::Float64))), AutogradError);
}

TEST_CASE("gradients accumulate across backward calls until zero_grad", "[autograd]") {
    Tensor x = leaf({1, -2}, {2});
    for (int i = 0; i < 3; ++i) backward(sum(mul(x, 5.0)));
    CHECK(grad(x).to_vector() == std::vector<double>{15, 15});
    zero_grad(x);
    CHECK_FALSE(grad(x).defined());
    backward(sum(mul(x, 5.0)));
    CHECK(grad(x).to_vector() == std::vector<double>{5, 5});
    // A leaf used twice in one graph gets both contributions.
    zero_grad(x);
    backward(sum(add(mul(x, x), x)));  // 2x + 1
    CHECK(grad(x).to_vector() == std::vector<double>{3, -3});
}

TEST_CASE("retain_graph allows a second backward; a freed graph throws AutogradError",
          "[autograd]") {
    Tensor x = leaf({0.5, 2.0}, {2});
    Tensor loss = sum(exp(x));
    backward(loss, Tensor(), /*retain_graph=*/true);
    backward(loss);
    CHECK(grad(x).at({0}) == Approx(2 * std::exp(0.5)));
    CHECK(grad(x).at({1}) == Approx(2 * std::exp(2.0)));
    // The second backward above did not retain: a third one must be refused, not crash.
    CHECK_THROWS_AS(backward(loss), AutogradError);
    CHECK_THROWS_WITH(backward(loss), Contains("retain_graph") && Contains("second time"));
    // Also when only an inner node was freed: a new root on top of a freed graph.
    Tensor y = mul(x, x);
    backward(sum(y));
    CHECK_THROWS_AS(backward(sum(exp(y))), AutogradError);
}

TEST_CASE("NoGradGuard records nothing; detach stops gradients", "[autograd]") {
    Tensor x = leaf({1, 2}, {2});
    {
        NoGradGuard guard;
        Tensor y = mul(x, x);
        CHECK_FALSE(requires_grad(y));
        CHECK(grad_fn(y) == nullptr);
        CHECK_FALSE(grad_mode_enabled());
    }
    CHECK(grad_mode_enabled());
    CHECK(grad_fn(mul(x, x)) != nullptr);

    Tensor d = detach(x);
    CHECK(d.storage() == x.storage());
    CHECK_FALSE(requires_grad(d));
    // z = x * detach(x): only the first factor carries a gradient, so dz/dx = detach(x).
    backward(sum(mul(x, d)));
    CHECK(grad(x).to_vector() == std::vector<double>{1, 2});
    CHECK_FALSE(grad(d).defined());
}

TEST_CASE("anomaly mode names the op that produced NaN in forward", "[autograd][anomaly]") {
    Tensor x = leaf({1.0, -1.0}, {2});
    CHECK_NOTHROW(log(x));  // off: NaN passes silently
    AnomalyModeGuard anomaly;
    CHECK_THROWS_AS(log(x), AutogradError);
    CHECK_THROWS_WITH(log(x), Contains("LogBackward") && Contains("forward") && Contains("NaN"));
}

TEST_CASE("anomaly mode names the op that produced Inf in backward", "[autograd][anomaly]") {
    Tensor x = leaf({0.0, 4.0}, {2});
    {
        Tensor loss = sum(sqrt(x));  // d sqrt(x)/dx = 1/(2 sqrt x): infinite at 0
        backward(loss);
        CHECK(std::isinf(grad(x).at({0})));
    }
    zero_grad(x);
    AnomalyModeGuard anomaly;
    Tensor loss = sum(sqrt(x));
    CHECK_THROWS_AS(backward(loss), AutogradError);
    Tensor loss2 = sum(sqrt(x));
    CHECK_THROWS_WITH(backward(loss2), Contains("SqrtBackward") && Contains("gradient"));
}

TEST_CASE("to_dot shows op names and shapes", "[autograd][dot]") {
    Tensor x = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
    Tensor w = leaf({1, 2, 3}, {3});
    Tensor y = sum(relu(mul(x, w)), {1});
    std::string dot = to_dot(y);
    CHECK_THAT(dot, Contains("digraph"));
    CHECK_THAT(dot, Contains("SumBackward") && Contains("ReluBackward") && Contains("MulBackward"));
    CHECK_THAT(dot, Contains("AccumulateGrad"));
    CHECK_THAT(dot,
               Contains("float64 [2, 3]") && Contains("float64 [3]") && Contains("float64 [2]"));
    CHECK_THAT(dot, Contains("output"));
}

TEST_CASE("gradcheck reports a wrong backward with input and element",
          "[autograd][gradcheck_self]") {
    Generator gen(3);
    Tensor x = set_requires_grad(randn({2, 3}, DType::Float64, &gen));
    GradcheckResult bad =
        gradcheck([](const std::vector<Tensor>& v) { return wrong_double(v[0]); }, {x});
    CHECK_FALSE(bad.ok);
    CHECK_THAT(bad.message,
               Contains("mismatch") && Contains("input 0") && Contains("element [0, 0]"));
    // The same op with a correct backward passes.
    GradcheckResult good =
        gradcheck([](const std::vector<Tensor>& v) { return mul(v[0], 2.0); }, {x});
    INFO(good.message);
    CHECK(good.ok);
    // Only the second input is wrong: the report names input 1.
    Tensor y = set_requires_grad(randn({3}, DType::Float64, &gen));
    GradcheckResult second = gradcheck(
        [](const std::vector<Tensor>& v) { return add(v[0], wrong_double(v[1])); }, {x, y});
    CHECK_FALSE(second.ok);
    CHECK_THAT(second.message, Contains("input 1"));
    // Per-input statistics: input 0 is exact, input 1 is off by its analytic value (the wrong
    // backward returns 3 g instead of 2 g, so |error| = |v| everywhere and rel error = 1/2).
    REQUIRE(second.inputs.size() == 2);
    CHECK(second.inputs[0].ok());
    CHECK(second.inputs[0].compared == 2 * 6);  // 6 elements x 2 cotangents
    CHECK(second.inputs[0].max_abs_error < 1e-8);
    CHECK_FALSE(second.inputs[1].ok());
    CHECK(second.inputs[1].mismatches == 2 * 3);
    CHECK(second.inputs[1].max_rel_error == Approx(0.5).epsilon(1e-6));
    CHECK_THAT(second.inputs[1].worst, Contains("element ["));
    CHECK(second.inputs[1].worst_analytic == Approx(1.5 * second.inputs[1].worst_numeric).epsilon(1e-6));
}

TEST_CASE("gradcheck fast mode passes correct ops and catches wrong ones",
          "[autograd][gradcheck_self]") {
    Generator gen(5);
    Tensor x = set_requires_grad(randn({20, 30}, DType::Float64, &gen));
    Tensor w = set_requires_grad(randn({30}, DType::Float64, &gen));
    GradcheckOptions fast;
    fast.fast_mode = true;
    GradcheckResult ok =
        gradcheck([](const std::vector<Tensor>& v) { return tanh(mul(v[0], v[1])); }, {x, w}, fast);
    INFO(ok.message);
    CHECK(ok.ok);
    GradcheckResult bad = gradcheck(
        [](const std::vector<Tensor>& v) { return wrong_double(mul(v[0], v[1])); }, {x, w}, fast);
    CHECK_FALSE(bad.ok);
    CHECK_THAT(bad.message, Contains("fast mode") && Contains("mismatch"));
    // Inputs must be float64.
    Tensor f = set_requires_grad(zeros({2}));
    CHECK_THROWS_AS(gradcheck([](const std::vector<Tensor>& v) { return v[0]; }, {f}), DTypeError);
}

TEST_CASE("a node that returns no gradients for its inputs is an error naming it", "[autograd]") {
    // Before: accepted silently, so everything behind it never ran and x got no gradient.
    Tensor x = leaf({1, 2}, {2});
    Tensor y = mul(silent_identity(mul(x, 2.0)), 3.0);
    CHECK_THROWS_AS(backward(sum(y)), AutogradError);
    CHECK_THROWS_WITH(backward(sum(mul(silent_identity(x), 1.0))),
                      Contains("SilentBackward returned 0 gradients for 1 inputs"));
}
