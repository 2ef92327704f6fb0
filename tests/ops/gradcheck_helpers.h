// Shared by the op gradcheck tests: float64 leaves and a one-line check.
#pragma once
#include <catch2/catch.hpp>

#include "autograd/gradcheck.h"
#include "autograd/variable.h"
#include "tensor/random.h"

namespace cardinal::test {

// A float64 leaf requiring grad, normal(0, 1) from `seed`.
inline Tensor leaf_randn(const Shape& shape, uint64_t seed) {
    Generator gen(seed);
    return set_requires_grad(randn(shape, DType::Float64, &gen));
}

// A float64 leaf requiring grad, uniform in [low, high) (for ops defined on x > 0).
inline Tensor leaf_uniform(const Shape& shape, double low, double high, uint64_t seed) {
    Generator gen(seed);
    return set_requires_grad(uniform(shape, low, high, DType::Float64, &gen));
}

template <typename Fn>
void expect_gradcheck(Fn&& fn, const std::vector<Tensor>& inputs, GradcheckOptions opt = {}) {
    GradcheckResult r =
        gradcheck(std::function<Tensor(const std::vector<Tensor>&)>(fn), inputs, opt);
    INFO(r.message);
    CHECK(r.ok);
}

template <typename Fn>
void expect_gradcheck_multi(Fn&& fn, const std::vector<Tensor>& inputs, GradcheckOptions opt = {}) {
    GradcheckResult r = gradcheck(GradcheckFn(fn), inputs, opt);
    INFO(r.message);
    CHECK(r.ok);
}

}  // namespace cardinal::test
