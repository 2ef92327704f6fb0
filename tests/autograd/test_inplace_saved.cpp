// In-place writes to tensors a node saved for backward: backward refuses the node and names it
// (Node::save / check_saved_versions), instead of computing a gradient from the new values.
#include <catch2/catch.hpp>

#include "autograd/engine.h"
#include "autograd/variable.h"
#include "nn/layers/linear.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/conv.h"
#include "ops/reduction.h"
#include "optim/sgd.h"
#include "tensor/kernels.h"
#include "tensor/random.h"

using namespace cardinal;
using Catch::Matchers::Contains;

namespace {
Tensor leaf(const std::vector<double>& v) {
    return set_requires_grad(from_vector(v, {static_cast<int64_t>(v.size())}, DType::Float64));
}
}  // namespace

TEST_CASE("fill_ of a saved input makes backward name the op that saved it", "[autograd][inplace]") {
    Tensor a = leaf({1, 2, 3}), b = leaf({4, 5, 6});
    Tensor z = sum(mul(a, b));
    a.fill_(0.0);  // MulBackward saved a: dL/db = a would now be 0
    CHECK_THROWS_WITH(backward(z), Contains("modified by an in-place operation") &&
                                       Contains("float64 [3] saved by MulBackward") &&
                                       Contains("is at version 1; expected version 0"));
}

TEST_CASE("an in-place kernel on a saved output is caught (sigmoid saves its output)",
          "[autograd][inplace]") {
    Tensor x = leaf({-1, 2, 3});
    Tensor y = sigmoid(x);
    Tensor loss = sum(y);
    kernels::add_(y, ones({3}, DType::Float64));  // dL/dx = y (1 - y) would use y + 1
    CHECK_THROWS_WITH(backward(loss), Contains("saved by SigmoidBackward"));
    // relu saves its input, not its output: writing the output leaves its gradient right.
    Tensor x2 = leaf({-1, 2, 3});
    Tensor r = relu(x2);
    Tensor loss2 = sum(r);
    r.fill_(5.0);
    REQUIRE_NOTHROW(backward(loss2));
    CHECK(grad(x2).to_vector() == std::vector<double>{0, 1, 1});
}

TEST_CASE("a write through another view of the same storage is caught", "[autograd][inplace]") {
    Tensor a = leaf({1, 2, 3, 4}), b = leaf({5, 6, 7, 8});
    Tensor z = sum(mul(a, b));
    Tensor view = b.alias().narrow(0, 1, 2);  // a different handle on b's storage
    view.copy_(from_vector({0, 0}, {2}, DType::Float64));
    CHECK_THROWS_WITH(backward(z), Contains("saved by MulBackward") && Contains("version 1"));
    // Each write counts: two more writes, version 3.
    Tensor z2 = sum(mul(a, b));
    kernels::mul_scalar_(b, 2.0);
    b.zero_();
    CHECK_THROWS_WITH(backward(z2), Contains("is at version 3; expected version 1"));
}

TEST_CASE("an optimizer step between two backwards of one graph is caught", "[autograd][inplace]") {
    Generator gen(3);
    Linear fc(4, 3, true, &gen);
    Tensor x = randn({2, 4}, DType::Float32, &gen);
    Tensor h = relu(fc.forward(x));
    Tensor loss1 = sum(h), loss2 = sum(mul(h, h));
    backward(loss1, Tensor(), /*retain_graph=*/true);
    SGD opt(fc.parameters(), SGDOptions{});
    opt.step();  // writes the weight and the bias in place
    // LinearBackward saves the weight only when x needs a gradient; x does not, so the graph
    // holds x and h, which the step leaves alone: the second backward is still right.
    CHECK_NOTHROW(backward(loss2, Tensor(), true));
    // With an input that needs a gradient, the saved weight is stale after the step.
    Tensor xg = set_requires_grad(randn({2, 4}, DType::Float32, &gen));
    Tensor loss3 = sum(fc.forward(xg));
    opt.step();
    CHECK_THROWS_WITH(backward(loss3), Contains("float32 [3, 4] saved by LinearBackward"));
}

TEST_CASE("Module::to after the forward is refused at backward", "[autograd][inplace]") {
    Generator gen(5);
    Linear fc(3, 2, true, &gen);
    Tensor x = set_requires_grad(randn({2, 3}, DType::Float32, &gen));
    Tensor loss = sum(fc.forward(x));
    fc.to(DType::Float64);  // the saved float32 weight is no longer the parameter
    CHECK_THROWS_WITH(backward(loss), Contains("saved by LinearBackward"));
}

TEST_CASE("a leaf converted by Module::to gets no gradient of its old dtype", "[autograd][inplace]") {
    Generator gen(6);
    Linear fc(3, 2, true, &gen);
    Tensor x = randn({2, 3}, DType::Float32, &gen);
    // x needs no gradient, so nothing saved the weight and the bias is never saved: only
    // AccumulateGrad can notice that the parameters changed type.
    Tensor loss = sum(fc.forward(x));
    fc.to(DType::Float64);
    CHECK_THROWS_WITH(backward(loss), Contains("arrives after the leaf became float64"));
}

TEST_CASE("writes to tensors no node saved, or after backward, are fine", "[autograd][inplace]") {
    Tensor a = leaf({1, 2, 3}), b = leaf({4, 5, 6});
    Tensor z = sum(add(a, b));  // AddBackward saves nothing
    a.fill_(7.0);
    REQUIRE_NOTHROW(backward(z));
    CHECK(grad(b).to_vector() == std::vector<double>{1, 1, 1});

    Tensor c = leaf({1, 2, 3});
    Tensor w = sum(mul(c, c));
    backward(w);
    c.fill_(0.0);  // after backward: the graph is gone
    CHECK(grad(c).to_vector() == std::vector<double>{2, 4, 6});
}

TEST_CASE("a conv weight changed before backward is named", "[autograd][inplace]") {
    Generator gen(8);
    Tensor x = set_requires_grad(randn({1, 2, 5, 5}, DType::Float64, &gen));
    Tensor w = set_requires_grad(randn({3, 2, 3, 3}, DType::Float64, &gen));
    Tensor loss = sum(conv2d(x, w));
    w.copy_(zeros({3, 2, 3, 3}, DType::Float64));
    CHECK_THROWS_WITH(backward(loss), Contains("float64 [3, 2, 3, 3] saved by Conv2dBackward"));
}
