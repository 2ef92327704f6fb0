// Matrix products.
// matmul: Z = A B with A [M,K], B [K,N] -> Z [M,N]; batched [B,M,K] x [B,K,N] -> [B,M,N] (a
// batch of 1, or a 2-D operand, broadcasts over the other's batch).
//   gA = G B^T      [M,N] x [N,K]
//   gB = A^T G      [K,M] x [M,N]
// each then summed over the batch dims it was broadcast along (sum_to).
// linear: y = x W^T + b with x [N, in] (any leading dims, flattened to N), W [out, in], b [out]:
//   gx = G W,   gW = G^T x,   gb = sum_N G
#include "ops/linear.h"
#include "ops/mac_counter.h"

#include "autograd/function.h"
#include "tensor/kernels.h"

namespace cardinal {
namespace {

Tensor t_last2(const Tensor& m) { return m.transpose(-2, -1); }

struct MatmulBackward : Node {
    Tensor saved_a_, saved_b_;
    std::string name() const override { return "MatmulBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        Tensor ga, gb;
        if (needs_input_grad(0))
            ga = kernels::sum_to(kernels::matmul(g[0], t_last2(saved_b_)), saved_a_.shape());
        if (needs_input_grad(1))
            gb = kernels::sum_to(kernels::matmul(t_last2(saved_a_), g[0]), saved_b_.shape());
        return {ga, gb};
    }
    void release() override { saved_a_ = saved_b_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_a_) + saved_bytes_of(saved_b_); }
};

struct LinearBackward : Node {
    Tensor saved_x_;       // [N, in], for grad_weight only
    Tensor saved_weight_;  // [out, in], for grad_x only
    Shape x_shape_;
    int64_t out_ = 0;
    std::string name() const override { return "LinearBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        Tensor g2 = g[0].reshape({-1, out_});  // [N, out]
        Tensor gx, gw, gb;
        if (needs_input_grad(0)) gx = kernels::matmul(g2, saved_weight_).reshape(x_shape_);
        if (needs_input_grad(1)) gw = kernels::matmul(t_last2(g2), saved_x_);
        if (needs_input_grad(2)) gb = kernels::sum(g2, {0});
        return {gx, gw, gb};
    }
    void release() override { saved_x_ = saved_weight_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_x_) + saved_bytes_of(saved_weight_); }
};

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
    Tensor z = kernels::matmul(a, b);
    if (auto node = make_node<MatmulBackward>({a, b})) {
        node->saved_a_ = node->save(a);
        node->saved_b_ = node->save(b);
        record(node, {z});
    }
    return z;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    check<ShapeError>(weight.dim() == 2, "linear: weight must be [out, in], got ",
                      shape_str(weight.shape()));
    const int64_t out = weight.size(0), in = weight.size(1);
    check<ShapeError>(x.dim() >= 1 && x.size(-1) == in, "linear: input ", shape_str(x.shape()),
                      " does not end in in_features ", in, " of weight ",
                      shape_str(weight.shape()));
    check<DTypeError>(x.dtype() == weight.dtype(), "linear: input is ", describe(x),
                      " but weight is ", describe(weight));
    if (bias.defined()) {
        check<ShapeError>(bias.shape() == Shape{out}, "linear: bias ", shape_str(bias.shape()),
                          " does not match out_features ", out, " of weight ",
                          shape_str(weight.shape()));
        check<DTypeError>(bias.dtype() == weight.dtype(), "linear: bias is ", describe(bias),
                          " but weight is ", describe(weight));
    }
    Tensor x2 = x.reshape({-1, in});
    MacCounter::add(x2.size(0) * in * out);
    Tensor y = kernels::matmul(x2, t_last2(weight));
    if (bias.defined()) kernels::add_(y, bias);
    Shape y_shape = x.shape();
    y_shape.back() = out;
    y = y.view(y_shape);
    if (auto node = make_node<LinearBackward>({x, weight, bias})) {
        // Only what a wanted gradient reads: a frozen layer keeps no input alive, and a layer
        // whose input needs no gradient (the first one) does not pin its weight's version.
        if (node->needs_input_grad(0)) node->saved_weight_ = node->save(weight);
        if (node->needs_input_grad(1)) node->saved_x_ = node->save(x2);
        node->x_shape_ = x.shape();
        node->out_ = out;
        record(node, {y});
    }
    return y;
}

}  // namespace cardinal
