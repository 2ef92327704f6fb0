// matmul on Eigen (the reference for float64; fast enough for the small fc layers here),
// and the joining kernels cat / stack.
#include <algorithm>
#include <Eigen/Core>

#include "tensor/kernels.h"
#include "tensor/memory_format.h"

namespace cardinal::kernels {

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
    a = a.contiguous();
    b = b.contiguous();
    Tensor out = empty({B, M, N}, a.dtype());
    dispatch_floating(a.dtype(), "matmul", [&](auto tag) {
        using T = decltype(tag);
        using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
        for (int64_t i = 0; i < B; ++i) {
            Eigen::Map<const Mat> ma(a.data<T>() + (Ba == 1 ? 0 : i) * M * K, M, K);
            Eigen::Map<const Mat> mb(b.data<T>() + (Bb == 1 ? 0 : i) * K * N, K, N);
            Eigen::Map<Mat> mo(out.data<T>() + i * M * N, M, N);
            mo.noalias() = ma * mb;
        }
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
