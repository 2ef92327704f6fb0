// Loss values against hand-computed numbers (the gradchecks test derivatives, these test the
// forward formulas), and activations against closed forms.
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/engine.h"
#include "autograd/variable.h"
#include "ops/activation.h"
#include "ops/loss.h"
#include "ops/reduction.h"

using namespace cardinal;

namespace {
// -log softmax(row)[k]
double nll(const std::vector<double>& row, size_t k) {
    double s = 0;
    for (double v : row) s += std::exp(v);
    return std::log(s) - row[k];
}
}  // namespace

TEST_CASE("cross_entropy matches the formula for every reduction", "[ops][loss]") {
    std::vector<double> r0{1.0, 2.0, 0.5}, r1{-1.0, 0.0, 3.0};
    Tensor logits = from_vector({1.0, 2.0, 0.5, -1.0, 0.0, 3.0}, {2, 3}, DType::Float64);
    Tensor t = from_vector_i64({1, 0}, {2});
    const double l0 = nll(r0, 1), l1 = nll(r1, 0);
    CHECK(cross_entropy(logits, t).item() == Approx((l0 + l1) / 2).epsilon(1e-12));
    CHECK(cross_entropy(logits, t, Reduction::Sum).item() == Approx(l0 + l1).epsilon(1e-12));
    std::vector<double> none = cross_entropy(logits, t, Reduction::None).to_vector();
    CHECK(none[0] == Approx(l0).epsilon(1e-12));
    CHECK(none[1] == Approx(l1).epsilon(1e-12));
}

TEST_CASE("cross_entropy label smoothing is (1-ls)*nll + ls*mean_c(-log p), as PyTorch",
          "[ops][loss]") {
    std::vector<double> r0{1.0, 2.0, 0.5}, r1{-1.0, 0.0, 3.0};
    Tensor logits = from_vector({1.0, 2.0, 0.5, -1.0, 0.0, 3.0}, {2, 3}, DType::Float64);
    Tensor t = from_vector_i64({1, 0}, {2});
    const double ls = 0.2;
    auto smoothed = [&](const std::vector<double>& r, size_t k) {
        double m = (nll(r, 0) + nll(r, 1) + nll(r, 2)) / 3.0;
        return (1 - ls) * nll(r, k) + ls * m;
    };
    double expected = (smoothed(r0, 1) + smoothed(r1, 0)) / 2;
    CHECK(cross_entropy(logits, t, Reduction::Mean, ls).item() == Approx(expected).epsilon(1e-12));
    // The same loss written as PyTorch documents it: -sum_c q_c log p_c with
    // q = (1 - ls) * onehot + ls / C. Value computed independently in Python: 2.18179301059935.
    auto q_form = [&](const std::vector<double>& r, size_t k) {
        double l = 0;
        for (size_t c = 0; c < 3; ++c) l += ((c == k ? 1 - ls : 0.0) + ls / 3) * nll(r, c);
        return l;
    };
    CHECK(expected == Approx((q_form(r0, 1) + q_form(r1, 0)) / 2).epsilon(1e-12));
    CHECK(cross_entropy(logits, t, Reduction::Mean, ls).item() ==
          Approx(2.18179301059935).epsilon(1e-12));
}

TEST_CASE("cross_entropy is stable for huge logits and float32 matches float64", "[ops][loss]") {
    Tensor big = from_vector({1000.0, 0.0, -1000.0, 500.0}, {2, 2}, DType::Float64);
    Tensor t = from_vector_i64({0, 0}, {2});
    Tensor l = cross_entropy(big, t, Reduction::None);
    CHECK(l.at({0}) == Approx(0.0).margin(1e-12));
    CHECK(l.at({1}) == Approx(1500.0));
    Tensor x64 = from_vector({0.3, -1.2, 2.0, 0.7, 0.1, -0.4}, {2, 3}, DType::Float64);
    Tensor x32 = x64.to(DType::Float32);
    Tensor t2 = from_vector_i64({2, 0}, {2});
    CHECK(cross_entropy(x32, t2).item() == Approx(cross_entropy(x64, t2).item()).epsilon(1e-6));
}

TEST_CASE("cross_entropy gradient is (softmax - onehot)/N", "[ops][loss]") {
    Tensor logits =
        set_requires_grad(from_vector({1.0, 2.0, 0.5, -1.0, 0.0, 3.0}, {2, 3}, DType::Float64));
    Tensor t = from_vector_i64({1, 0}, {2});
    backward(cross_entropy(logits, t));
    Tensor p = softmax(detach(logits), 1);
    std::vector<double> g = grad(logits).to_vector(), pv = p.to_vector();
    for (int i = 0; i < 6; ++i) {
        double onehot = (i == 1 || i == 3) ? 1.0 : 0.0;
        CHECK(g[i] == Approx((pv[i] - onehot) / 2).margin(1e-12));
    }
}

TEST_CASE("mse_loss matches the formula", "[ops][loss]") {
    Tensor a = from_vector({1, 2, 3, 4}, {2, 2}, DType::Float64);
    Tensor b = from_vector({0, 2, 5, 1}, {2, 2}, DType::Float64);
    CHECK(mse_loss(a, b).item() == Approx((1 + 0 + 4 + 9) / 4.0));
    CHECK(mse_loss(a, b, Reduction::Sum).item() == Approx(14.0));
    CHECK(mse_loss(a, b, Reduction::None).to_vector() == std::vector<double>{1, 0, 4, 9});
}

TEST_CASE("softmax and log_softmax: closed forms, stability, rows sum to 1", "[ops]") {
    Tensor x = from_vector({0.0, std::log(3.0), 1000.0, 1000.0}, {2, 2}, DType::Float64);
    Tensor y = softmax(x, 1);
    CHECK(y.at({0, 0}) == Approx(0.25));
    CHECK(y.at({0, 1}) == Approx(0.75));
    CHECK(y.at({1, 0}) == Approx(0.5));  // would be inf/inf without the max shift
    Tensor ly = log_softmax(x, 1);
    CHECK(ly.at({0, 1}) == Approx(std::log(0.75)));
    CHECK(ly.at({1, 1}) == Approx(std::log(0.5)));
    Tensor s = sum(softmax(from_vector({3, 1, -2, 0, 5, 5}, {3, 2}, DType::Float64), 0), {0});
    CHECK(allclose(s, ones({2}, DType::Float64)));
}

TEST_CASE("float32 activations agree with the float64 reference", "[ops]") {
    Tensor x64 = from_vector({-2.0, -0.5, 0.0, 0.3, 1.7, 4.0}, {2, 3}, DType::Float64);
    Tensor x32 = x64.to(DType::Float32);
    CHECK(allclose(sigmoid(x32), sigmoid(x64), 1e-6, 1e-7));
    CHECK(allclose(tanh(x32), tanh(x64), 1e-6, 1e-7));
    CHECK(allclose(softmax(x32, 1), softmax(x64, 1), 1e-6, 1e-7));
    CHECK(allclose(log_softmax(x32, 0), log_softmax(x64, 0), 1e-6, 1e-6));
    CHECK(relu(x64).to_vector() == std::vector<double>{0, 0, 0, 0.3, 1.7, 4.0});
}
