// Reductions over dims D of x (shape S); with keepdim the reduced dims stay as size 1.
//   sum:  y = sum_D x               gx = expand(g, S)            (every summand gets g)
//   mean: y = sum_D x / n           gx = expand(g, S) / n        (n = number of summands)
//   max:  y = max_d x (one dim d)   gx = g at the first maximal element along d, 0 elsewhere
// g arrives in y's shape; it is first viewed with the reduced dims as size 1 (keepdim form).
#include "ops/reduction.h"

#include <algorithm>

#include "autograd/function.h"
#include "tensor/kernels.h"
#include "tensor/memory_format.h"

namespace cardinal {
namespace {

// x's shape with every reduced dim set to 1 (all dims when `dims` is empty).
Shape keepdim_shape(const Shape& in, const std::vector<int64_t>& dims, const char* op) {
    Shape s = in;
    const int64_t nd = static_cast<int64_t>(in.size());
    if (dims.empty()) std::fill(s.begin(), s.end(), 1);
    for (int64_t d : dims) s[wrap_dim(d, nd, op)] = 1;
    return s;
}

struct SumBackward : Node {
    Shape in_shape_, keep_shape_;
    std::vector<int64_t> in_order_;  // x's dim order in memory: gx gets x's layout
    double scale_ = 1.0;  // 1/n for mean
    std::string name_ = "SumBackward";
    std::string name() const override { return name_; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        // Materialised, in x's layout (channels-last stays channels-last).
        Tensor gx = empty_in_order(in_shape_, in_order_, g[0].dtype());
        gx.copy_(g[0].reshape(keep_shape_).expand(in_shape_));
        if (scale_ != 1.0) kernels::mul_scalar_(gx, scale_);
        return {gx};
    }
};

struct MaxBackward : Node {
    Tensor saved_indices_;  // int64, keepdim shape
    Shape in_shape_, keep_shape_;
    int64_t dim_ = 0;
    std::string name() const override { return "MaxBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        return {kernels::scatter_add(in_shape_, dim_, saved_indices_, g[0].reshape(keep_shape_))};
    }
    void release() override { saved_indices_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_indices_); }
};

Tensor reduce(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, bool is_mean) {
    Tensor y = is_mean ? kernels::mean(x, dims, keepdim) : kernels::sum(x, dims, keepdim);
    if (auto node = make_node<SumBackward>({x})) {
        node->in_shape_ = x.shape();
        node->in_order_ = is_dense(x) ? dims_in_memory_order(x) : std::vector<int64_t>{};
        if (node->in_order_.empty())
            for (int64_t d = 0; d < x.dim(); ++d) node->in_order_.push_back(d);
        node->keep_shape_ = keepdim_shape(x.shape(), dims, is_mean ? "mean" : "sum");
        if (is_mean) {
            node->name_ = "MeanBackward";
            node->scale_ = 1.0 / static_cast<double>(x.numel() / std::max<int64_t>(y.numel(), 1));
        }
        record(node, {y});
    }
    return y;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
    return reduce(x, dims, keepdim, false);
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
    return reduce(x, dims, keepdim, true);
}

Tensor max(const Tensor& x, int64_t dim, bool keepdim) {
    dim = wrap_dim(dim, x.dim(), "max");
    auto [values, indices] = kernels::max(x, dim, true);
    Shape keep_shape = values.shape();
    Tensor y = keepdim ? values : values.squeeze(dim);
    if (auto node = make_node<MaxBackward>({x})) {
        node->saved_indices_ = indices;
        node->in_shape_ = x.shape();
        node->keep_shape_ = keep_shape;
        node->dim_ = dim;
        record(node, {y});
    }
    return y;
}

}  // namespace cardinal
