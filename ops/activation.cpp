// Activations, y = f(x) elementwise, and the normalised exponentials along one dim.
//   relu:    y = max(x, 0)          gx = g * [x > 0]
//   sigmoid: y = 1 / (1 + e^-x)     gx = g * y * (1 - y)
//   tanh:    y = tanh x             gx = g * (1 - y^2)
// softmax along dim d (stable: shift by the max m = max_d x, which cancels):
//   y = e^(x - m) / sum_d e^(x - m)
//   gx = y * (g - sum_d(g * y))                       (the Jacobian diag(y) - y y^T applied to g)
// log_softmax:
//   y = (x - m) - log sum_d e^(x - m)
//   gx = g - e^y * sum_d(g)                           (e^y is the softmax)
#include "ops/activation.h"

#include "autograd/function.h"
#include "tensor/kernels.h"

namespace cardinal {
namespace {

struct ReluBackward : Node {
    Tensor saved_x_;
    std::string name() const override { return "ReluBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        return {kernels::mul(g[0], kernels::greater_scalar(saved_x_, 0.0))};
    }
    void release() override { saved_x_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_x_); }
};

struct SigmoidBackward : Node {
    Tensor saved_y_;
    std::string name() const override { return "SigmoidBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        Tensor one_minus_y = kernels::add_scalar(kernels::neg(saved_y_), 1.0);
        return {kernels::mul(g[0], kernels::mul(saved_y_, one_minus_y))};
    }
    void release() override { saved_y_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_y_); }
};

struct TanhBackward : Node {
    Tensor saved_y_;
    std::string name() const override { return "TanhBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        Tensor one_minus_y2 =
            kernels::add_scalar(kernels::neg(kernels::mul(saved_y_, saved_y_)), 1.0);
        return {kernels::mul(g[0], one_minus_y2)};
    }
    void release() override { saved_y_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_y_); }
};

struct SoftmaxBackward : Node {
    Tensor saved_y_;
    int64_t dim_ = 0;
    std::string name() const override { return "SoftmaxBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        Tensor sum_gy = kernels::sum(kernels::mul(g[0], saved_y_), {dim_}, true);
        return {kernels::mul(saved_y_, kernels::sub(g[0], sum_gy))};
    }
    void release() override { saved_y_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_y_); }
};

struct LogSoftmaxBackward : Node {
    Tensor saved_y_;
    int64_t dim_ = 0;
    std::string name() const override { return "LogSoftmaxBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        Tensor sum_g = kernels::sum(g[0], {dim_}, true);
        return {kernels::sub(g[0], kernels::mul(kernels::exp(saved_y_), sum_g))};
    }
    void release() override { saved_y_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_y_); }
};

// x - max_d(x): the shift that keeps every exponent <= 0.
Tensor shifted(const Tensor& x, int64_t dim, const char* op) {
    check<ShapeError>(x.numel() > 0, op, ": empty input ", shape_str(x.shape()));
    return kernels::sub(x, kernels::max(x, dim, true).first);
}

}  // namespace

Tensor relu(const Tensor& x) {
    Tensor y = kernels::relu(x);
    if (auto node = make_node<ReluBackward>({x})) {
        node->saved_x_ = save(x);
        record(node, {y});
    }
    return y;
}

Tensor sigmoid(const Tensor& x) {
    Tensor y = kernels::sigmoid(x);
    if (auto node = make_node<SigmoidBackward>({x})) {
        node->saved_y_ = save(y);
        record(node, {y});
    }
    return y;
}

Tensor tanh(const Tensor& x) {
    Tensor y = kernels::tanh(x);
    if (auto node = make_node<TanhBackward>({x})) {
        node->saved_y_ = save(y);
        record(node, {y});
    }
    return y;
}

Tensor softmax(const Tensor& x, int64_t dim) {
    dim = wrap_dim(dim, x.dim(), "softmax");
    Tensor e = kernels::exp(shifted(x, dim, "softmax"));
    Tensor y = kernels::div(e, kernels::sum(e, {dim}, true));
    if (auto node = make_node<SoftmaxBackward>({x})) {
        node->saved_y_ = save(y);
        node->dim_ = dim;
        record(node, {y});
    }
    return y;
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
    dim = wrap_dim(dim, x.dim(), "log_softmax");
    Tensor z = shifted(x, dim, "log_softmax");
    Tensor y = kernels::sub(z, kernels::log(kernels::sum(kernels::exp(z), {dim}, true)));
    if (auto node = make_node<LogSoftmaxBackward>({x})) {
        node->saved_y_ = save(y);
        node->dim_ = dim;
        record(node, {y});
    }
    return y;
}

}  // namespace cardinal
