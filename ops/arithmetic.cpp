// z = a op b with broadcasting. Shapes: a, b broadcast to z.
// Backward: each input receives dL/dz times the local derivative, summed back down over the
// dims it was broadcast along (kernels::sum_to):
//   add: ga = g,        gb = g
//   sub: ga = g,        gb = -g
//   mul: ga = g * b,    gb = g * a
//   div: ga = g / b,    gb = -g * a / b^2 = -g * z / b
#include "ops/arithmetic.h"

#include "autograd/function.h"
#include "tensor/kernels.h"

namespace cardinal {
namespace {

struct AddBackward : Node {
    Shape a_shape_, b_shape_;
    double b_sign_ = 1.0;  // -1 for sub
    std::string name() const override { return b_sign_ > 0 ? "AddBackward" : "SubBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        Tensor ga, gb;
        if (needs_input_grad(0)) ga = kernels::sum_to(g[0], a_shape_);
        if (needs_input_grad(1)) {
            gb = kernels::sum_to(g[0], b_shape_);
            if (b_sign_ < 0) gb = kernels::neg(gb);
        }
        return {ga, gb};
    }
};

struct MulBackward : Node {
    Tensor saved_a_, saved_b_;
    std::string name() const override { return "MulBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        Tensor ga, gb;
        if (needs_input_grad(0)) ga = kernels::sum_to(kernels::mul(g[0], saved_b_), saved_a_.shape());
        if (needs_input_grad(1)) gb = kernels::sum_to(kernels::mul(g[0], saved_a_), saved_b_.shape());
        return {ga, gb};
    }
    void release() override { saved_a_ = saved_b_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_a_) + saved_bytes_of(saved_b_); }
};

struct DivBackward : Node {
    Tensor saved_b_, saved_z_;
    Shape a_shape_;
    std::string name() const override { return "DivBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        Tensor ga, gb;
        Tensor g_over_b = kernels::div(g[0], saved_b_);
        if (needs_input_grad(0)) ga = kernels::sum_to(g_over_b, a_shape_);
        if (needs_input_grad(1))
            gb = kernels::sum_to(kernels::neg(kernels::mul(g_over_b, saved_z_)), saved_b_.shape());
        return {ga, gb};
    }
    void release() override { saved_b_ = saved_z_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_b_) + saved_bytes_of(saved_z_); }
};

struct ScaleBackward : Node {  // z = a * s + t
    double scale_ = 1.0;
    std::string name() const override { return scale_ == 1.0 ? "AddScalarBackward" : "MulScalarBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        return {scale_ == 1.0 ? g[0] : kernels::mul_scalar(g[0], scale_)};
    }
};

Tensor add_or_sub(const Tensor& a, const Tensor& b, double sign) {
    Tensor z = sign > 0 ? kernels::add(a, b) : kernels::sub(a, b);
    if (auto node = make_node<AddBackward>({a, b})) {
        node->a_shape_ = a.shape();
        node->b_shape_ = b.shape();
        node->b_sign_ = sign;
        record(node, {z});
    }
    return z;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return add_or_sub(a, b, 1.0); }
Tensor sub(const Tensor& a, const Tensor& b) { return add_or_sub(a, b, -1.0); }

Tensor mul(const Tensor& a, const Tensor& b) {
    Tensor z = kernels::mul(a, b);
    if (auto node = make_node<MulBackward>({a, b})) {
        node->saved_a_ = node->save(a);
        node->saved_b_ = node->save(b);
        record(node, {z});
    }
    return z;
}

Tensor div(const Tensor& a, const Tensor& b) {
    Tensor z = kernels::div(a, b);
    if (auto node = make_node<DivBackward>({a, b})) {
        node->saved_b_ = node->save(b);
        node->saved_z_ = node->save(z);
        node->a_shape_ = a.shape();
        record(node, {z});
    }
    return z;
}

Tensor add(const Tensor& a, double s) {
    Tensor z = kernels::add_scalar(a, s);
    if (auto node = make_node<ScaleBackward>({a})) record(node, {z});
    return z;
}

Tensor mul(const Tensor& a, double s) {
    Tensor z = kernels::mul_scalar(a, s);
    if (auto node = make_node<ScaleBackward>({a})) {
        node->scale_ = s;
        record(node, {z});
    }
    return z;
}

}  // namespace cardinal
