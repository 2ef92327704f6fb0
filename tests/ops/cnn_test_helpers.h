// Shared helpers of the CNN op tests (batch norm, pooling, dropout).
#pragma once
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <vector>

#include "autograd/engine.h"
#include "autograd/gradcheck.h"
#include "autograd/variable.h"
#include "tensor/kernels.h"
#include "tensor/random.h"

namespace cardinal::test {

// float64 values without ties: a random permutation of 0..n-1, scaled to steps of 0.1 and
// centred (so a max over any window has one clear winner, and signs vary).
inline Tensor distinct64(const Shape& shape, uint64_t seed) {
    Generator gen(seed);
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    Tensor perm = randperm(n, &gen).to(DType::Float64).reshape(shape);
    return kernels::add_scalar(kernels::mul_scalar(perm, 0.1), -0.05 * static_cast<double>(n));
}

inline Tensor randn64(const Shape& shape, uint64_t seed, double scale = 1.0, double shift = 0.0) {
    Generator gen(seed);
    return kernels::add_scalar(kernels::mul_scalar(randn(shape, DType::Float64, &gen), scale),
                               shift);
}

inline double max_abs(const Tensor& t) {
    double m = 0;
    for (double v : t.to_vector()) m = std::max(m, std::fabs(v));
    return m;
}

// max |a - b| / max|b| (with a floor so all-zero references compare absolutely).
inline double rel_diff(const Tensor& a, const Tensor& b) {
    return max_abs_diff(a.to(DType::Float64), b) / std::max(max_abs(b), 1e-3);
}

// Runs fn on float32 copies and on the float64 inputs, backpropagates the same random
// cotangent, and checks the output and every input gradient agree within `tol` (relative).
inline void check_f32_matches_f64(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                                  const std::vector<Tensor>& inputs64, double tol = 1e-4) {
    std::vector<Tensor> in64, in32;
    for (const Tensor& t : inputs64) {
        in64.push_back(t.defined() ? set_requires_grad(t.clone()) : Tensor());
        in32.push_back(t.defined() ? set_requires_grad(t.to(DType::Float32).clone()) : Tensor());
    }
    Tensor y64 = fn(in64), y32 = fn(in32);
    REQUIRE(y32.dtype() == DType::Float32);
    REQUIRE(y32.shape() == y64.shape());
    CHECK(rel_diff(y32, y64) < tol);
    Generator gen(99);
    Tensor v64 = randn(y64.shape(), DType::Float64, &gen);
    backward(y64, v64);
    backward(y32, v64.to(DType::Float32));
    for (size_t i = 0; i < in64.size(); ++i) {
        if (!in64[i].defined()) continue;
        INFO("input " << i);
        REQUIRE(grad(in32[i]).defined());
        CHECK(grad(in32[i]).dtype() == DType::Float32);
        CHECK(rel_diff(grad(in32[i]), grad(in64[i])) < tol);
    }
}

// gradcheck of a single-output fn; reports the message on failure.
inline void expect_gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                             const std::vector<Tensor>& inputs) {
    for (const Tensor& t : inputs)
        if (t.defined()) set_requires_grad(t);
    auto r = gradcheck(fn, inputs);
    INFO(r.message);
    CHECK(r.ok);
}

}  // namespace cardinal::test
