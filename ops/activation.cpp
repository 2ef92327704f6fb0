// Activations, y = f(x) elementwise, and the normalised exponentials along one dim.
//   relu:    y = max(x, 0)          gx = g * [x > 0]
//   add_relu: y = max(a + b, 0)     ga = gb = g * [y > 0]   (a residual block's tail, one pass)
//   sigmoid: y = 1 / (1 + e^-x)     gx = g * y * (1 - y)
//   tanh:    y = tanh x             gx = g * (1 - y^2)
// softmax along dim d (stable: shift by the max m = max_d x, which cancels):
//   y = e^(x - m) / sum_d e^(x - m)
//   gx = y * (g - sum_d(g * y))                       (the Jacobian diag(y) - y y^T applied to g)
// log_softmax:
//   y = (x - m) - log sum_d e^(x - m)
//   gx = g - e^y * sum_d(g)                           (e^y is the softmax)
#include "ops/activation.h"

#include <algorithm>

#include "autograd/function.h"
#include "ops/arithmetic.h"
#include "tensor/kernels.h"
#include "tensor/memory_format.h"
#include "tensor/parallel.h"

namespace cardinal {
namespace {

// a and b have one shape, dtype and dense layout (the same strides), so one flat loop over
// their storage ranges visits matching elements.
bool same_dense_layout(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && a.dtype() == b.dtype() && a.strides() == b.strides() &&
           is_dense(a) && is_dense(b);
}

// out[i] = f(a[i], b[i]) over a and b of one dense layout (same_dense_layout), as one flat
// loop over their storage ranges (data<T>() is the lowest address: strides are non-negative);
// the output has a's layout.
template <typename Fn>
Tensor dense_zip(const Tensor& a, const Tensor& b, const char* name, Fn&& f) {
    Tensor out = empty_with_layout_of(a, a.shape(), a.dtype());
    dispatch_floating(a.dtype(), name, [&](auto tag) {
        using T = decltype(tag);
        const T* ap = a.data<T>();
        const T* bp = b.data<T>();
        T* outp = out.data<T>();
        const int64_t n = a.numel();
#pragma omp parallel for simd schedule(static) if (n >= kParallelGrain)
        for (int64_t i = 0; i < n; ++i) outp[i] = f(ap[i], bp[i]);
    });
    return out;
}

// g * [ref > 0] in one pass, in ref's layout (the ReLU gradient: ref is its input or output).
Tensor relu_mask_grad(const Tensor& g, const Tensor& ref) {
    const Tensor gl = is_dense(ref) ? to_memory_format(g, suggest_memory_format(ref)) : g;
    if (!is_floating(ref.dtype()) || !same_dense_layout(gl, ref))
        return kernels::mul(g, kernels::greater_scalar(ref, 0.0));
    return dense_zip(ref, gl, "relu backward",
                     [](auto r, auto gv) { return r > decltype(r)(0) ? gv : decltype(gv)(0); });
}

struct ReluBackward : Node {
    Tensor saved_x_;
    std::string name() const override { return "ReluBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        return {relu_mask_grad(g[0], saved_x_)};
    }
    void release() override { saved_x_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_x_); }
};

struct AddReluBackward : Node {
    Tensor saved_y_;
    std::string name() const override { return "AddReluBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        Tensor gx = relu_mask_grad(g[0], saved_y_);
        return {needs_input_grad(0) ? gx : Tensor(), needs_input_grad(1) ? gx : Tensor()};
    }
    void release() override { saved_y_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_y_); }
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
        node->saved_x_ = node->save(x);
        record(node, {y});
    }
    return y;
}

Tensor add_relu(const Tensor& a, const Tensor& b) {
    check<Error>(a.defined() && b.defined(), "add_relu: an input is undefined");
    // b in a's layout when only the layout differs; any other mismatch (broadcasting, dtypes)
    // takes the composed ops, which handle and report it.
    const Tensor bl = a.shape() == b.shape() && is_dense(a) && is_dense(b)
                          ? to_memory_format(b, suggest_memory_format(a))
                          : b;
    if (!is_floating(a.dtype()) || !same_dense_layout(a, bl)) return relu(a + b);
    Tensor y = dense_zip(a, bl, "add_relu",
                         [](auto x, auto z) { return std::max(x + z, decltype(x)(0)); });
    if (auto node = make_node<AddReluBackward>({a, b})) {
        node->saved_y_ = node->save(y);
        record(node, {y});
    }
    return y;
}

Tensor sigmoid(const Tensor& x) {
    Tensor y = kernels::sigmoid(x);
    if (auto node = make_node<SigmoidBackward>({x})) {
        node->saved_y_ = node->save(y);
        record(node, {y});
    }
    return y;
}

Tensor tanh(const Tensor& x) {
    Tensor y = kernels::tanh(x);
    if (auto node = make_node<TanhBackward>({x})) {
        node->saved_y_ = node->save(y);
        record(node, {y});
    }
    return y;
}

Tensor softmax(const Tensor& x, int64_t dim) {
    dim = wrap_dim(dim, x.dim(), "softmax");
    Tensor e = kernels::exp(shifted(x, dim, "softmax"));
    Tensor y = kernels::div(e, kernels::sum(e, {dim}, true));
    if (auto node = make_node<SoftmaxBackward>({x})) {
        node->saved_y_ = node->save(y);
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
        node->saved_y_ = node->save(y);
        node->dim_ = dim;
        record(node, {y});
    }
    return y;
}

}  // namespace cardinal
