// Elementwise math, y = f(x), same shape in and out. Backward: gx = g * f'(x):
//   neg:  y = -x        gx = -g
//   pow:  y = x^p       gx = g * p * x^(p-1)     (p a fixed scalar)
//   exp:  y = e^x       gx = g * y
//   log:  y = ln x      gx = g / x
//   sqrt: y = x^(1/2)   gx = g / (2 y)           (infinite at x = 0, as the math says)
#include "ops/math.h"

#include "autograd/function.h"
#include "tensor/kernels.h"

namespace cardinal {
namespace {

struct NegBackward : Node {
    std::string name() const override { return "NegBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {kernels::neg(g[0])}; }
};

struct PowBackward : Node {
    Tensor saved_x_;
    double exponent_ = 1.0;
    std::string name() const override { return "PowBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        if (exponent_ == 0.0) return {zeros_like(g[0])};
        Tensor local =
            kernels::mul_scalar(kernels::pow_scalar(saved_x_, exponent_ - 1.0), exponent_);
        return {kernels::mul(g[0], local)};
    }
    void release() override { saved_x_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_x_); }
};

struct ExpBackward : Node {
    Tensor saved_y_;
    std::string name() const override { return "ExpBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        return {kernels::mul(g[0], saved_y_)};
    }
    void release() override { saved_y_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_y_); }
};

struct LogBackward : Node {
    Tensor saved_x_;
    std::string name() const override { return "LogBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        return {kernels::div(g[0], saved_x_)};
    }
    void release() override { saved_x_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_x_); }
};

struct SqrtBackward : Node {
    Tensor saved_y_;
    std::string name() const override { return "SqrtBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        return {kernels::div(kernels::mul_scalar(g[0], 0.5), saved_y_)};
    }
    void release() override { saved_y_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_y_); }
};

}  // namespace

Tensor neg(const Tensor& a) {
    Tensor y = kernels::neg(a);
    if (auto node = make_node<NegBackward>({a})) record(node, {y});
    return y;
}

Tensor pow(const Tensor& a, double exponent) {
    Tensor y = kernels::pow_scalar(a, exponent);
    if (auto node = make_node<PowBackward>({a})) {
        node->saved_x_ = node->save(a);
        node->exponent_ = exponent;
        record(node, {y});
    }
    return y;
}

Tensor exp(const Tensor& a) {
    Tensor y = kernels::exp(a);
    if (auto node = make_node<ExpBackward>({a})) {
        node->saved_y_ = node->save(y);
        record(node, {y});
    }
    return y;
}

Tensor log(const Tensor& a) {
    Tensor y = kernels::log(a);
    if (auto node = make_node<LogBackward>({a})) {
        node->saved_x_ = node->save(a);
        record(node, {y});
    }
    return y;
}

Tensor sqrt(const Tensor& a) {
    Tensor y = kernels::sqrt(a);
    if (auto node = make_node<SqrtBackward>({a})) {
        node->saved_y_ = node->save(y);
        record(node, {y});
    }
    return y;
}

}  // namespace cardinal
