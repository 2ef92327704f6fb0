// Losses over a batch of N examples; `reduction` gives the mean, the sum or the per-example
// values (None).
// cross_entropy: logits x [N, C], targets t [N] (int64 class indices), smoothing ls:
//   p = softmax(x) along C,  q = (1 - ls) * onehot(t) + ls / C   (each row of q sums to 1)
//   l_n = -sum_c q_nc log p_nc = (1 - ls) * nll_n + ls * mean_c(-log p_nc)   (as PyTorch)
//   dl_n/dx_nc = p_nc - q_nc            (since sum_c q_nc = 1)
// mse_loss: d = input - target (same shape), l = d^2 elementwise:
//   g_input = 2 d g,  g_target = -2 d g
// For Mean the upstream gradient is divided by N (cross_entropy) or numel (mse).
#include "ops/loss.h"

#include "autograd/function.h"
#include "tensor/kernels.h"

namespace cardinal {
namespace {

// Reduces per-example losses to the requested form.
Tensor reduce_loss(const Tensor& l, Reduction r) {
    if (r == Reduction::Sum) return kernels::sum(l);
    if (r == Reduction::Mean) return kernels::mean(l);
    return l;
}

// The upstream gradient in per-element form (the shape of `shape`), undoing reduce_loss.
Tensor unreduce_grad(const Tensor& g, const Shape& shape, Reduction r) {
    if (r == Reduction::None) return g;
    Tensor full_g = g.expand(shape);
    if (r == Reduction::Mean)
        return kernels::mul_scalar(full_g, 1.0 / static_cast<double>(shape_numel(shape)));
    return full_g;
}

struct CrossEntropyBackward : Node {
    Tensor saved_probs_;    // softmax(x) [N, C]
    Tensor saved_targets_;  // [N] int64
    double smoothing_ = 0.0;
    Reduction reduction_ = Reduction::Mean;
    std::string name() const override { return "CrossEntropyBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        const int64_t n = saved_probs_.size(0), c = saved_probs_.size(1);
        // p - q = p - ls/C - (1 - ls) onehot
        Tensor diff = kernels::add_scalar(saved_probs_, -smoothing_ / static_cast<double>(c));
        Tensor onehot = kernels::scatter_add({n, c}, 1, saved_targets_.view({n, 1}),
                                             full({n, 1}, 1.0 - smoothing_, diff.dtype()));
        diff = kernels::sub(diff, onehot);
        Tensor g_n = unreduce_grad(g[0], {n}, reduction_).reshape({n, 1});
        return {kernels::mul(diff, g_n), Tensor()};
    }
    void release() override { saved_probs_ = saved_targets_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_probs_) + saved_bytes_of(saved_targets_); }
};

struct MseBackward : Node {
    Tensor saved_diff_;
    Reduction reduction_ = Reduction::Mean;
    std::string name() const override { return "MseLossBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        Tensor g_in = kernels::mul(kernels::mul_scalar(saved_diff_, 2.0),
                                   unreduce_grad(g[0], saved_diff_.shape(), reduction_));
        Tensor g_target = needs_input_grad(1) ? kernels::neg(g_in) : Tensor();
        return {needs_input_grad(0) ? g_in : Tensor(), g_target};
    }
    void release() override { saved_diff_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_diff_); }
};

void check_targets(const Tensor& logits, const Tensor& targets, double ls) {
    check<ShapeError>(logits.dim() == 2, "cross_entropy: logits must be [N, C], got ",
                      shape_str(logits.shape()));
    check<DTypeError>(is_floating(logits.dtype()), "cross_entropy: logits must be floating, got ",
                      describe(logits));
    check<DTypeError>(targets.dtype() == DType::Int64,
                      "cross_entropy: targets must be int64 class ", "indices, got ",
                      describe(targets));
    check<ShapeError>(targets.dim() == 1 && targets.size(0) == logits.size(0),
                      "cross_entropy: targets ", shape_str(targets.shape()),
                      " do not match logits ", shape_str(logits.shape()), " (expected [",
                      logits.size(0), "])");
    check<ShapeError>(logits.size(1) > 0, "cross_entropy: logits ", shape_str(logits.shape()),
                      " have no classes");
    check<ValueError>(ls >= 0.0 && ls < 1.0,
                      "cross_entropy: label_smoothing must be in [0, 1), got ", ls);
    const int64_t c = logits.size(1);
    Tensor t = targets.contiguous();
    const int64_t* p = t.data<int64_t>();
    for (int64_t i = 0; i < t.numel(); ++i)
        check<IndexError>(p[i] >= 0 && p[i] < c, "cross_entropy: target ", p[i], " at position ", i,
                          " is out of range for ", c, " classes (logits ",
                          shape_str(logits.shape()), ")");
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, Reduction reduction,
                     double label_smoothing) {
    check_targets(logits, targets, label_smoothing);
    const int64_t n = logits.size(0);
    // log p, stably: (x - m) - log sum e^(x - m)
    Tensor z = kernels::sub(logits, kernels::max(logits, 1, true).first);
    Tensor log_p = kernels::sub(z, kernels::log(kernels::sum(kernels::exp(z), {1}, true)));
    Tensor nll = kernels::neg(kernels::gather(log_p, 1, targets.view({n, 1})).view({n}));
    Tensor per_example = nll;
    if (label_smoothing > 0.0) {
        Tensor smooth = kernels::neg(kernels::mean(log_p, {1}));
        per_example = kernels::add(kernels::mul_scalar(nll, 1.0 - label_smoothing),
                                   kernels::mul_scalar(smooth, label_smoothing));
    }
    Tensor loss = reduce_loss(per_example, reduction);
    if (auto node = make_node<CrossEntropyBackward>({logits, targets})) {
        node->saved_probs_ = kernels::exp(log_p);
        node->saved_targets_ = node->save(targets);
        node->smoothing_ = label_smoothing;
        node->reduction_ = reduction;
        record(node, {loss});
    }
    return loss;
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
    check<ShapeError>(input.shape() == target.shape(), "mse_loss: input ", shape_str(input.shape()),
                      " and target ", shape_str(target.shape()), " must have the same shape");
    check<DTypeError>(input.dtype() == target.dtype(), "mse_loss: input is ", describe(input),
                      " but target is ", describe(target));
    Tensor diff = kernels::sub(input, target);
    Tensor loss = reduce_loss(kernels::mul(diff, diff), reduction);
    if (auto node = make_node<MseBackward>({input, target})) {
        node->saved_diff_ = diff;
        node->reduction_ = reduction;
        record(node, {loss});
    }
    return loss;
}

}  // namespace cardinal
