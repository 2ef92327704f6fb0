// Views and joins. None of these change values, only where they sit, so every backward puts
// the gradient back where the input's elements came from:
//   reshape / view / flatten / squeeze / unsqueeze:  gx = reshape(g, shape(x))
//   permute(p):                 gx = permute(g, p^-1)             (transpose is its own inverse)
//   narrow(d, s, n):            gx = zeros(shape(x)) with g written into [s, s+n) along d
//   split / chunk along d:      gx = cat(g_1, ..., g_k; d)        (one node, k outputs)
//   expand:                     gx = sum of g over the broadcast dims (sum_to)
//   cat(x_1..x_k; d):           gx_i = narrow(g, d, offset_i, size_i)
//   stack(x_1..x_k; d):         gx_i = select(g, d, i)
//   contiguous:                 gx = g
// Forwards are the Tensor view methods (no copy) except reshape of a non-viewable layout, cat,
// stack and contiguous, which copy.
#include "ops/shape_ops.h"

#include "autograd/function.h"
#include "tensor/kernels.h"

namespace cardinal {
namespace {

struct ReshapeBackward : Node {
    Shape in_shape_;
    std::string name_;
    std::string name() const override { return name_; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        return {g[0].reshape(in_shape_)};
    }
};

struct PermuteBackward : Node {
    std::vector<int64_t> inverse_;
    std::string name_;
    std::string name() const override { return name_; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {g[0].permute(inverse_)}; }
};

struct NarrowBackward : Node {
    Shape in_shape_;
    int64_t dim_ = 0, start_ = 0;
    std::string name() const override { return "NarrowBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        Tensor gx = zeros(in_shape_, g[0].dtype());
        gx.narrow(dim_, start_, g[0].size(dim_)).copy_(g[0]);
        return {gx};
    }
};

struct SplitBackward : Node {  // one node for all pieces; missing gradients arrive as zeros
    int64_t dim_ = 0;
    std::string name_;
    std::string name() const override { return name_; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {kernels::cat(g, dim_)}; }
};

struct ExpandBackward : Node {
    Shape in_shape_;
    std::string name() const override { return "ExpandBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        return {kernels::sum_to(g[0], in_shape_)};
    }
};

struct CatBackward : Node {
    std::vector<int64_t> sizes_;
    int64_t dim_ = 0;
    std::string name() const override { return "CatBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        std::vector<Tensor> gx(sizes_.size());
        int64_t start = 0;
        for (size_t i = 0; i < sizes_.size(); ++i) {
            if (needs_input_grad(i)) gx[i] = g[0].narrow(dim_, start, sizes_[i]);
            start += sizes_[i];
        }
        return gx;
    }
};

struct StackBackward : Node {
    int64_t dim_ = 0;
    std::string name() const override { return "StackBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        std::vector<Tensor> gx(next_edges.size());
        for (size_t i = 0; i < gx.size(); ++i)
            if (needs_input_grad(i)) gx[i] = g[0].select(dim_, static_cast<int64_t>(i));
        return gx;
    }
};

struct ContiguousBackward : Node {
    std::string name() const override { return "ContiguousBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {g[0]}; }
};

Tensor record_reshape(const Tensor& x, Tensor y, const char* name) {
    if (auto node = make_node<ReshapeBackward>({x})) {
        node->in_shape_ = x.shape();
        node->name_ = name;
        record(node, {y});
    }
    return y;
}

std::vector<Tensor> record_split(const Tensor& x, std::vector<Tensor> pieces, int64_t dim,
                                 const char* name) {
    if (auto node = make_node<SplitBackward>({x})) {
        node->dim_ = wrap_dim(dim, x.dim(), name);
        node->name_ = name;
        record(node, pieces);
    }
    return pieces;
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
    return record_reshape(x, x.reshape(shape), "ReshapeBackward");
}
Tensor view(const Tensor& x, const Shape& shape) {
    return record_reshape(x, x.view(shape), "ViewBackward");
}
Tensor squeeze(const Tensor& x, int64_t dim) {
    return record_reshape(x, x.squeeze(dim), "SqueezeBackward");
}
Tensor unsqueeze(const Tensor& x, int64_t dim) {
    return record_reshape(x, x.unsqueeze(dim), "UnsqueezeBackward");
}
Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
    return record_reshape(x, x.flatten(start_dim, end_dim), "FlattenBackward");
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
    Tensor y = x.permute(dims);  // validates dims
    if (auto node = make_node<PermuteBackward>({x})) {
        node->inverse_.resize(dims.size());
        for (size_t i = 0; i < dims.size(); ++i)
            node->inverse_[wrap_dim(dims[i], x.dim(), "permute")] = static_cast<int64_t>(i);
        node->name_ = "PermuteBackward";
        record(node, {y});
    }
    return y;
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
    Tensor y = x.transpose(d0, d1);
    if (auto node = make_node<PermuteBackward>({x})) {
        node->inverse_.resize(x.dim());
        for (int64_t i = 0; i < x.dim(); ++i) node->inverse_[i] = i;
        std::swap(node->inverse_[wrap_dim(d0, x.dim(), "transpose")],
                  node->inverse_[wrap_dim(d1, x.dim(), "transpose")]);
        node->name_ = "TransposeBackward";
        record(node, {y});
    }
    return y;
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
    Tensor y = x.narrow(dim, start, length);
    if (auto node = make_node<NarrowBackward>({x})) {
        node->in_shape_ = x.shape();
        node->dim_ = wrap_dim(dim, x.dim(), "narrow");
        node->start_ = start < 0 ? start + x.shape()[node->dim_] : start;
        record(node, {y});
    }
    return y;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
    return record_split(x, x.split(split_size, dim), dim, "SplitBackward");
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
    return record_split(x, x.chunk(chunks, dim), dim, "ChunkBackward");
}

Tensor expand(const Tensor& x, const Shape& shape) {
    Tensor y = x.expand(shape);
    if (auto node = make_node<ExpandBackward>({x})) {
        node->in_shape_ = x.shape();
        record(node, {y});
    }
    return y;
}

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
    Tensor y = kernels::cat(xs, dim);  // validates shapes and dtypes
    if (auto node = make_node<CatBackward>(xs)) {
        node->dim_ = wrap_dim(dim, xs[0].dim(), "cat");
        for (const Tensor& x : xs) node->sizes_.push_back(x.shape()[node->dim_]);
        record(node, {y});
    }
    return y;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
    Tensor y = kernels::stack(xs, dim);
    if (auto node = make_node<StackBackward>(xs)) {
        node->dim_ = wrap_dim(dim, xs[0].dim() + 1, "stack");
        record(node, {y});
    }
    return y;
}

Tensor contiguous(const Tensor& x) {
    if (x.is_contiguous()) return x;
    Tensor y = x.clone();
    if (auto node = make_node<ContiguousBackward>({x})) record(node, {y});
    return y;
}

Tensor contiguous(const Tensor& x, MemoryFormat format) {
    Tensor y = to_memory_format(x, format);
    if (y.is_same(x)) return x;
    if (auto node = make_node<ContiguousBackward>({x})) record(node, {y});
    return y;
}

}  // namespace cardinal
