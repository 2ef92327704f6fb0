// retain_grad, register_hook and the backward observer (autograd/hooks.h).
#include <catch2/catch.hpp>

#include "autograd/engine.h"
#include "autograd/hooks.h"
#include "autograd/variable.h"
#include "ops/arithmetic.h"
#include "ops/math.h"
#include "ops/reduction.h"
#include "tensor/kernels.h"

using namespace cardinal;

namespace {

Tensor vec(std::vector<double> v) {
    const int64_t n = static_cast<int64_t>(v.size());
    return from_vector(std::move(v), {n}, DType::Float64);
}

}  // namespace

TEST_CASE("retain_grad keeps a non-leaf gradient, only when asked", "[autograd][hooks]") {
    Tensor x = set_requires_grad(vec({1, 2, 3}));
    Tensor y = x * x;     // dL/dy = 3 (from z = 3 y)
    Tensor y2 = x + 1.0;  // not retained
    retain_grad(y);
    CHECK(retains_grad(y));
    CHECK_FALSE(retains_grad(y2));
    CHECK(retains_grad(x));  // leaves always keep theirs
    backward(sum(y * 3.0 + y2));
    CHECK(grad(y).to_vector() == std::vector<double>{3, 3, 3});
    CHECK_FALSE(grad(y2).defined());
    CHECK(grad(x).to_vector() == std::vector<double>{7, 13, 19});  // 6x + 1

    // A second backward accumulates into the retained gradient, as into a leaf's.
    Tensor y3 = x * x;
    retain_grad(y3);
    backward(sum(y3), Tensor(), true);
    backward(sum(y3 * 2.0));
    CHECK(grad(y3).to_vector() == std::vector<double>{3, 3, 3});
}

TEST_CASE("retain_grad on a tensor without grad is refused", "[autograd][hooks]") {
    Tensor c = vec({1, 2});
    CHECK_THROWS_AS(retain_grad(c), AutogradError);
    CHECK_THROWS_AS(register_hook(c, [](const Tensor& g) { return g; }), AutogradError);
}

TEST_CASE("register_hook sees the complete gradient and may replace it", "[autograd][hooks]") {
    Tensor x = set_requires_grad(vec({1, 2, 3}));
    Tensor y = x * 2.0;
    // y is used twice: the hook must see the sum of both paths (1 + 1 per element), once.
    int calls = 0;
    std::vector<double> seen;
    register_hook(y, [&](const Tensor& g) {
        ++calls;
        seen = g.to_vector();
        return kernels::mul_scalar(g, 10.0);  // replaces dL/dy
    });
    retain_grad(y);  // a retained gradient is the value after the hooks
    backward(sum(y + y));
    CHECK(calls == 1);
    CHECK(seen == std::vector<double>{2, 2, 2});
    CHECK(grad(y).to_vector() == std::vector<double>{20, 20, 20});
    CHECK(grad(x).to_vector() == std::vector<double>{40, 40, 40});
}

TEST_CASE("hooks on a leaf run before accumulation; undefined keeps the gradient",
          "[autograd][hooks]") {
    Tensor x = set_requires_grad(vec({1, 2}));
    std::vector<double> seen;
    register_hook(x, [&](const Tensor& g) {
        seen = g.to_vector();
        return Tensor();  // watch only
    });
    register_hook(x, [](const Tensor& g) { return kernels::mul_scalar(g, -1.0); });
    backward(sum(x * x));
    CHECK(seen == std::vector<double>{2, 4});
    CHECK(grad(x).to_vector() == std::vector<double>{-2, -4});
}

TEST_CASE("a hook returning the wrong shape is a clear error", "[autograd][hooks]") {
    Tensor x = set_requires_grad(vec({1, 2}));
    Tensor y = x * 3.0;
    register_hook(y, [](const Tensor&) { return zeros({3}, DType::Float64); });
    try {
        backward(sum(y));
        FAIL("no error");
    } catch (const ShapeError& e) {
        CHECK_THAT(e.what(), Catch::Matchers::Contains("register_hook") &&
                                 Catch::Matchers::Contains("returned"));
    }
}

TEST_CASE("the observer reports every node once, in execution order", "[autograd][hooks]") {
    Tensor x = set_requires_grad(vec({1, 2, 3}));
    Tensor w = set_requires_grad(vec({4, 5, 6}));
    Tensor y = x * w;   // MulBackward
    Tensor z = exp(y);  // ExpBackward
    Tensor l = sum(z);  // SumBackward
    struct Seen {
        std::string name;
        int64_t index;
        std::vector<Tensor> in, out;
    };
    std::vector<Seen> seen;
    {
        BackwardObserver watch([&](const BackwardEvent& e) {
            seen.push_back({e.node.name(), e.index, e.grad_outputs, e.grad_inputs});
        });
        backward(l);
    }
    REQUIRE(seen.size() == 5);  // Sum, Exp, Mul, and the two AccumulateGrad leaves
    for (size_t i = 0; i < seen.size(); ++i) CHECK(seen[i].index == static_cast<int64_t>(i));
    CHECK(seen[0].name == "SumBackward");
    CHECK(seen[1].name == "ExpBackward");
    CHECK(seen[2].name == "MulBackward");
    CHECK(seen[3].name == "AccumulateGrad");
    CHECK(seen[4].name == "AccumulateGrad");
    // Exp received dL/dz = 1 and returned dL/dy = exp(y); Mul returned w * exp(y), x * exp(y).
    CHECK(seen[1].in[0].to_vector() == std::vector<double>{1, 1, 1});
    CHECK(seen[1].out[0].to_vector() == exp(y).to_vector());
    CHECK(seen[2].out[0].to_vector() == (w * exp(y)).to_vector());
    CHECK(seen[2].out[1].to_vector() == (x * exp(y)).to_vector());
    CHECK(seen[3].out.empty());  // a leaf returns nothing: it accumulates

    // Outside the observer's lifetime nothing is reported; observers nest.
    seen.clear();
    backward(sum(x * w));
    CHECK(seen.empty());
    int outer = 0, inner = 0;
    {
        BackwardObserver a([&](const BackwardEvent&) { ++outer; });
        {
            BackwardObserver b([&](const BackwardEvent&) { ++inner; });
            backward(sum(x * 2.0));
        }
        backward(sum(x * 2.0));
    }
    CHECK(inner == 3);  // Sum, Mul, AccumulateGrad
    CHECK(outer == 3);
    CHECK(BackwardObserver::current() == nullptr);
}

// dist/ starts a bucket's allreduce from here: the hook must run once per backward, after the
// gradients of every path into the leaf are summed, with grad(leaf) already holding them.
TEST_CASE("post-accumulate hooks see the leaf's final gradient once per backward", "[autograd][hooks]") {
    Tensor x = set_requires_grad(vec({1, 2, 3}));
    int calls = 0;
    std::vector<double> seen;
    register_post_accumulate_hook(x, [&](const Tensor& leaf) {
        ++calls;
        seen = grad(leaf).to_vector();
    });
    backward(sum(x * 2.0 + x * 3.0));  // two paths into x
    CHECK(calls == 1);
    CHECK(seen == std::vector<double>{5, 5, 5});
    backward(sum(x * 2.0));  // accumulates: the hook sees the running total
    CHECK(calls == 2);
    CHECK(seen == std::vector<double>{7, 7, 7});
    clear_post_accumulate_hooks(x);
    backward(sum(x * 2.0));
    CHECK(calls == 2);
    Tensor y = x * 2.0;
    CHECK_THROWS_WITH(register_post_accumulate_hook(y, [](const Tensor&) {}),
                      Catch::Contains("expected a leaf that requires grad") && Catch::Contains("not a leaf"));
}
