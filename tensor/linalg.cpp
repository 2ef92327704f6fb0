// matmul on Eigen (the reference for float64; fast enough for the small fc layers here),
// and the joining kernels cat / stack.
#include <algorithm>
#include <Eigen/Core>

#include "tensor/kernels.h"
#include "tensor/memory_format.h"

namespace cardinal::kernels {

namespace {

// How a 3-D operand's [rows, cols] matrices sit in memory: row-major, column-major (a transposed
// view such as linear's t_last2(weight) or a backward pass's t_last2(x)), or neither.
enum class Layout { RowMajor, ColMajor, Other };

Layout layout_of(const Tensor& t) {
    const int64_t rows = t.size(1), cols = t.size(2), batch_stride = rows * cols;
    if (t.size(0) > 1 && t.stride(0) != batch_stride) return Layout::Other;
    if ((cols == 1 || t.stride(2) == 1) && (rows == 1 || t.stride(1) == cols)) return Layout::RowMajor;
    if ((rows == 1 || t.stride(1) == 1) && (cols == 1 || t.stride(2) == rows)) return Layout::ColMajor;
    return Layout::Other;
}

// out[i] = a[i or 0] b[i or 0] with each operand read in its own storage order.
template <typename T, int OrderA, int OrderB>
void batched_product(const Tensor& a, const Tensor& b, Tensor& out) {
    using MatA = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, OrderA>;
    using MatB = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, OrderB>;
    using MatOut = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const int64_t Ba = a.size(0), Bb = b.size(0), M = a.size(1), K = a.size(2), N = b.size(2);
    for (int64_t i = 0; i < out.size(0); ++i) {
        Eigen::Map<const MatA> ma(a.data<T>() + (Ba == 1 ? 0 : i) * M * K, M, K);
        Eigen::Map<const MatB> mb(b.data<T>() + (Bb == 1 ? 0 : i) * K * N, K, N);
        Eigen::Map<MatOut> mo(out.data<T>() + i * M * N, M, N);
        mo.noalias() = ma * mb;
    }
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
    check<DTypeError>(a_in.dtype() == b_in.dtype(), "matmul: dtype mismatch: ", describe(a_in),
                      " vs ", describe(b_in));
    check<ShapeError>((a_in.dim() == 2 || a_in.dim() == 3) && (b_in.dim() == 2 || b_in.dim() == 3),
                      "matmul: expected 2-D or 3-D operands, got ", shape_str(a_in.shape()), " and ",
                      shape_str(b_in.shape()));
    Tensor a = a_in.dim() == 2 ? a_in.unsqueeze(0) : a_in;
    Tensor b = b_in.dim() == 2 ? b_in.unsqueeze(0) : b_in;
    const int64_t M = a.size(1), K = a.size(2), N = b.size(2);
    check<ShapeError>(b.size(1) == K, "matmul: ", shape_str(a_in.shape()), " x ", shape_str(b_in.shape()),
                      ": inner sizes differ (", K, " vs ", b.size(1), ")");
    const int64_t Ba = a.size(0), Bb = b.size(0);
    check<ShapeError>(Ba == Bb || Ba == 1 || Bb == 1, "matmul: batch sizes ", Ba, " and ", Bb,
                      " cannot be broadcast");
    const int64_t B = std::max(Ba, Bb);
    // Transposed operands are read in place (Eigen takes either storage order); only other
    // strides are copied. Before, linear copied its weight's transpose on every call.
    if (layout_of(a) == Layout::Other) a = a.contiguous();
    if (layout_of(b) == Layout::Other) b = b.contiguous();
    const bool a_col = layout_of(a) == Layout::ColMajor, b_col = layout_of(b) == Layout::ColMajor;
    Tensor out = empty({B, M, N}, a.dtype());
    dispatch_floating(a.dtype(), "matmul", [&](auto tag) {
        using T = decltype(tag);
        constexpr int R = Eigen::RowMajor, C = Eigen::ColMajor;
        if (!a_col && !b_col) batched_product<T, R, R>(a, b, out);
        if (!a_col && b_col) batched_product<T, R, C>(a, b, out);
        if (a_col && !b_col) batched_product<T, C, R>(a, b, out);
        if (a_col && b_col) batched_product<T, C, C>(a, b, out);
    });
    if (a_in.dim() == 2 && b_in.dim() == 2) return out.view({M, N});
    return out;
}

Tensor cat(const std::vector<Tensor>& ts, int64_t dim) {
    check<ShapeError>(!ts.empty(), "cat: expected at least one tensor");
    const Tensor& first = ts[0];
    dim = wrap_dim(dim, first.dim(), "cat");
    Shape out_shape = first.shape();
    int64_t total = 0;
    for (size_t i = 0; i < ts.size(); ++i) {
        const Tensor& t = ts[i];
        check<DTypeError>(t.dtype() == first.dtype(), "cat: tensor ", i, " is ", describe(t),
                          " but tensor 0 is ", describe(first));
        check<ShapeError>(t.dim() == first.dim(), "cat: tensor ", i, " has shape ", shape_str(t.shape()),
                          " but tensor 0 has shape ", shape_str(first.shape()));
        for (int64_t d = 0; d < t.dim(); ++d)
            check<ShapeError>(d == dim || t.shape()[d] == first.shape()[d], "cat: tensor ", i,
                              " has shape ", shape_str(t.shape()), ", tensor 0 has ",
                              shape_str(first.shape()), "; they may differ only in dim ", dim);
        total += t.shape()[dim];
    }
    out_shape[dim] = total;
    Tensor out = empty(out_shape, first.dtype());
    if (!first.is_contiguous() && is_dense(first)) {
        // Keep the inputs' layout (channels-last stays channels-last). A joined dim of size 1
        // (stack's new dim) has no place in that layout: it goes outside every dim that follows
        // it logically, so each input lands in one block (stacked NHWC paths [B, P, C, H, W] are
        // laid out B, P, H, W, C).
        std::vector<int64_t> order = dims_in_memory_order(first);
        if (first.shape()[dim] == 1) {
            order.erase(std::find(order.begin(), order.end(), dim));
            auto at = std::find_if(order.begin(), order.end(), [&](int64_t d) { return d > dim; });
            order.insert(at, dim);
        }
        out = empty_in_order(out_shape, order, first.dtype());
    }
    int64_t start = 0;
    for (const Tensor& t : ts) {
        out.narrow(dim, start, t.shape()[dim]).copy_(t);
        start += t.shape()[dim];
    }
    return out;
}

Tensor stack(const std::vector<Tensor>& ts, int64_t dim) {
    check<ShapeError>(!ts.empty(), "stack: expected at least one tensor");
    dim = wrap_dim(dim, ts[0].dim() + 1, "stack");
    std::vector<Tensor> us;
    for (size_t i = 0; i < ts.size(); ++i) {
        check<ShapeError>(ts[i].shape() == ts[0].shape(), "stack: tensor ", i, " has shape ",
                          shape_str(ts[i].shape()), " but tensor 0 has ", shape_str(ts[0].shape()));
        us.push_back(ts[i].unsqueeze(dim));
    }
    return cat(us, dim);
}

}  // namespace cardinal::kernels
