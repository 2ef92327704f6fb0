// gather / scatter_add along one dim: the index arithmetic behind max's backward and the
// target lookup of cross_entropy. Views are made contiguous first; the loops then see each
// tensor as [outer, size along dim, inner].
#include "tensor/kernels.h"

namespace cardinal::kernels {
namespace {

struct DimSplit {
    int64_t outer = 1, inner = 1;
};

DimSplit split_at(const Shape& s, int64_t dim) {
    DimSplit d;
    for (int64_t i = 0; i < dim; ++i) d.outer *= s[i];
    for (size_t i = dim + 1; i < s.size(); ++i) d.inner *= s[i];
    return d;
}

// `index` must be int64, of data's rank, and equal to data_shape outside `dim`.
void check_index(const char* op, const Shape& data_shape, int64_t dim, const Tensor& index) {
    check<DTypeError>(index.dtype() == DType::Int64, op, ": index must be int64, got ",
                      describe(index));
    bool ok = index.dim() == static_cast<int64_t>(data_shape.size());
    for (int64_t d = 0; ok && d < index.dim(); ++d)
        if (d != dim && index.shape()[d] != data_shape[d]) ok = false;
    check<ShapeError>(ok, op, ": index of shape ", shape_str(index.shape()),
                      " does not match data of shape ", shape_str(data_shape), " outside dim ",
                      dim);
}

// Visits every index element: `at` is its flat position (also the position in the gathered
// output / scattered source), the second argument the flat position it selects in the
// indexed tensor.
template <typename Fn>
void walk_index(const char* op, const DimSplit& s, int64_t k, int64_t n, int64_t dim, const int64_t* idx,
                Fn&& fn) {
    for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t j = 0; j < k; ++j)
            for (int64_t i = 0; i < s.inner; ++i) {
                const int64_t at = (o * k + j) * s.inner + i;
                const int64_t t = idx[at];
                check<IndexError>(t >= 0 && t < n, op, ": index ", t, " out of range for dim ", dim,
                                  " of size ", n);
                fn(at, (o * n + t) * s.inner + i);
            }
}

}  // namespace

Tensor gather(const Tensor& a_in, int64_t dim, const Tensor& index_in) {
    dim = wrap_dim(dim, a_in.dim(), "gather");
    check_index("gather", a_in.shape(), dim, index_in);
    Tensor a = a_in.contiguous(), index = index_in.contiguous();
    Tensor out = empty(index.shape(), a.dtype());
    const DimSplit s = split_at(index.shape(), dim);
    const int64_t n = a.shape()[dim], k = index.shape()[dim];
    const int64_t* idx = index.data<int64_t>();
    dispatch_all(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* src = a.data<T>();
        T* dst = out.data<T>();
        walk_index("gather", s, k, n, dim, idx,
                   [&](int64_t at, int64_t from) { dst[at] = src[from]; });
    });
    return out;
}

Tensor scatter_add(const Shape& shape, int64_t dim, const Tensor& index_in, const Tensor& src_in) {
    dim = wrap_dim(dim, static_cast<int64_t>(shape.size()), "scatter_add");
    check_index("scatter_add", shape, dim, index_in);
    check<ShapeError>(index_in.shape() == src_in.shape(), "scatter_add: index ",
                      shape_str(index_in.shape()), " and source ", shape_str(src_in.shape()),
                      " must have the same shape");
    Tensor index = index_in.contiguous(), src = src_in.contiguous();
    Tensor out = zeros(shape, src.dtype());
    const DimSplit s = split_at(index.shape(), dim);
    const int64_t n = shape[dim], k = index.shape()[dim];
    const int64_t* idx = index.data<int64_t>();
    dispatch_all(src.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* from = src.data<T>();
        T* dst = out.data<T>();
        walk_index("scatter_add", s, k, n, dim, idx,
                   [&](int64_t at, int64_t to) { dst[to] += from[at]; });
    });
    return out;
}

}  // namespace cardinal::kernels
