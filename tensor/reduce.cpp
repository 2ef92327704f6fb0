// Reductions over a set of dims. Plan: the kept dims index the outputs (spread over threads);
// for each output an odometer walks the reduced dims, innermost fastest.
#include <algorithm>
#include <cmath>
#include <limits>

#include "tensor/kernels.h"
#include "tensor/memory_format.h"
#include "tensor/parallel.h"

namespace cardinal::kernels {
namespace {

struct ReducePlan {
    Shape out_shape;       // with keepdim
    Shape kept_sizes, kept_strides;  // input strides of kept dims
    Shape red_sizes, red_strides;    // input strides of reduced dims
    int64_t n_out = 1, n_red = 1;
};

ReducePlan make_plan(const Tensor& a, std::vector<int64_t> dims, const char* op) {
    const int64_t nd = a.dim();
    std::vector<bool> reduce(nd, dims.empty());
    for (int64_t d : dims) {
        int64_t w = wrap_dim(d, nd, op);
        check<IndexError>(!reduce[w] || dims.empty(), op, ": dim ", d, " repeated");
        reduce[w] = true;
    }
    ReducePlan p;
    for (int64_t d = 0; d < nd; ++d) {
        if (reduce[d]) {
            p.out_shape.push_back(1);
            p.red_sizes.push_back(a.shape()[d]);
            p.red_strides.push_back(a.strides()[d]);
            p.n_red *= a.shape()[d];
        } else {
            p.out_shape.push_back(a.shape()[d]);
            p.kept_sizes.push_back(a.shape()[d]);
            p.kept_strides.push_back(a.strides()[d]);
            p.n_out *= a.shape()[d];
        }
    }
    return p;
}

Shape final_shape(const ReducePlan& p, bool keepdim) { return keepdim ? p.out_shape : p.kept_sizes; }

int64_t kept_offset(const ReducePlan& p, int64_t o) {
    int64_t off = 0;
    for (int64_t d = static_cast<int64_t>(p.kept_sizes.size()) - 1; d >= 0; --d) {
        off += (o % p.kept_sizes[d]) * p.kept_strides[d];
        o /= p.kept_sizes[d];
    }
    return off;
}

// Calls visit(element_offset, reduced_linear_index) for every reduced element of output o.
template <typename Visit>
void walk_reduced(const ReducePlan& p, int64_t base, Visit&& visit) {
    const int64_t nr = static_cast<int64_t>(p.red_sizes.size());
    if (nr == 0) {
        visit(base, 0);
        return;
    }
    if (p.n_red == 0) return;
    std::vector<int64_t> idx(nr, 0);
    const int64_t inner = p.red_sizes[nr - 1], inner_stride = p.red_strides[nr - 1];
    int64_t lin = 0, off = base;
    while (true) {
        for (int64_t i = 0; i < inner; ++i) visit(off + i * inner_stride, lin + i);
        lin += inner;
        int64_t d = nr - 2;
        for (; d >= 0; --d) {
            off += p.red_strides[d];
            if (++idx[d] < p.red_sizes[d]) break;
            off -= idx[d] * p.red_strides[d];
            idx[d] = 0;
        }
        if (d < 0) return;
    }
}

// The dims of a reduction with size-1 dims dropped and neighbours of the same kind merged when
// their strides make them one run (e.g. H, W of a contiguous NCHW tensor become one dim of H*W).
struct MergedDim {
    int64_t size, stride;
    bool reduced;
};

std::vector<MergedDim> merge_dims(const Tensor& a, const std::vector<int64_t>& dims) {
    std::vector<bool> reduce(a.dim(), dims.empty());
    for (int64_t d : dims) reduce[wrap_dim(d, a.dim(), "sum")] = true;
    std::vector<MergedDim> m;
    for (int64_t d = 0; d < a.dim(); ++d) {
        const int64_t size = a.shape()[d], stride = a.strides()[d];
        if (size == 1) continue;
        if (!m.empty() && m.back().reduced == reduce[d] && m.back().stride == stride * size) {
            m.back().size *= size;
            m.back().stride = stride;
        } else {
            m.push_back({size, stride, static_cast<bool>(reduce[d])});
        }
    }
    return m;
}

// Element offsets of every index combination of `ds` (row-major, last fastest).
std::vector<int64_t> offsets_of(const std::vector<MergedDim>& ds) {
    std::vector<int64_t> offs{0};
    for (const MergedDim& d : ds) {
        std::vector<int64_t> next;
        next.reserve(offs.size() * d.size);
        for (int64_t base : offs)
            for (int64_t i = 0; i < d.size; ++i) next.push_back(base + i * d.stride);
        offs.swap(next);
    }
    return offs;
}

// Sums with the accumulator Acc, in one of two loop shapes that read memory in order:
// - the last merged dim is reduced and contiguous (mean over H, W): each output adds up runs;
// - the last merged dim is kept and contiguous (sum over the batch or the radix): each output row
//   adds whole input rows.
// Returns false when neither holds (the caller walks element by element).
template <typename T, typename Acc>
bool sum_runs(const Tensor& a, const std::vector<MergedDim>& m, T* dst) {
    if (m.empty() || m.back().stride != 1) return false;
    std::vector<MergedDim> kept, red;
    for (size_t i = 0; i + 1 < m.size(); ++i) (m[i].reduced ? red : kept).push_back(m[i]);
    const std::vector<int64_t> kept_offs = offsets_of(kept), red_offs = offsets_of(red);
    const int64_t L = m.back().size, n_red_offs = static_cast<int64_t>(red_offs.size());
    const int64_t n_kept = static_cast<int64_t>(kept_offs.size());
    const T* src = a.data<T>();
    const bool big = n_kept * n_red_offs * L >= kParallelGrain && n_kept > 1;
    if (m.back().reduced) {
#pragma omp parallel for schedule(static) if (big)
        for (int64_t o = 0; o < n_kept; ++o) {
            Acc acc = 0;
            for (int64_t r = 0; r < n_red_offs; ++r) {
                const T* run = src + kept_offs[o] + red_offs[r];
#pragma omp simd reduction(+ : acc)
                for (int64_t i = 0; i < L; ++i) acc += run[i];
            }
            dst[o] = static_cast<T>(acc);
        }
    } else {
#pragma omp parallel if (big)
        {
            std::vector<Acc> acc(static_cast<size_t>(L));
#pragma omp for schedule(static)
            for (int64_t o = 0; o < n_kept; ++o) {
                std::fill(acc.begin(), acc.end(), Acc(0));
                for (int64_t r = 0; r < n_red_offs; ++r) {
                    const T* row = src + kept_offs[o] + red_offs[r];
#pragma omp simd
                    for (int64_t i = 0; i < L; ++i) acc[i] += row[i];
                }
                for (int64_t i = 0; i < L; ++i) dst[o * L + i] = static_cast<T>(acc[i]);
            }
        }
    }
    return true;
}

}  // namespace

Tensor sum(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
    if (a.dim() > 1 && !a.is_contiguous() && is_dense(a)) {
        // A permuted dense layout (channels-last): reduce the contiguous permuted view, whose
        // runs the loops below read in order, and give the result the input's dim order.
        const std::vector<int64_t> order = dims_in_memory_order(a);
        std::vector<int64_t> position(order.size()), mapped;
        for (size_t i = 0; i < order.size(); ++i) position[order[i]] = static_cast<int64_t>(i);
        std::vector<bool> reduced(order.size(), dims.empty());
        for (int64_t d : dims) reduced[wrap_dim(d, a.dim(), "sum")] = true;
        for (size_t d = 0; d < order.size(); ++d)
            if (reduced[d]) mapped.push_back(position[d]);
        Tensor s = sum(a.permute(order), mapped, true).permute(position);
        if (!keepdim)
            for (int64_t d = a.dim() - 1; d >= 0; --d)
                if (reduced[d]) s = s.squeeze(d);
        return s;
    }
    ReducePlan p = make_plan(a, dims, "sum");
    Tensor out = empty(final_shape(p, keepdim), a.dtype());
    dispatch_all(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        using Acc = std::conditional_t<std::is_same_v<T, int64_t>, int64_t, double>;
        T* dst = out.data<T>();
        if (p.n_red > 0 && sum_runs<T, Acc>(a, merge_dims(a, dims), dst)) return;
        const T* src = a.data<T>();
#pragma omp parallel for schedule(static) if (p.n_out * p.n_red >= kParallelGrain && p.n_out > 1)
        for (int64_t o = 0; o < p.n_out; ++o) {
            Acc acc = 0;
            walk_reduced(p, kept_offset(p, o), [&](int64_t off, int64_t) { acc += src[off]; });
            dst[o] = static_cast<T>(acc);
        }
    });
    return out;
}

Tensor mean(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
    check<DTypeError>(is_floating(a.dtype()), "mean: expected a floating tensor, got ", describe(a));
    ReducePlan p = make_plan(a, dims, "mean");
    check<ShapeError>(p.n_red > 0, "mean: reducing over an empty dim of ", shape_str(a.shape()));
    Tensor s = sum(a, dims, keepdim);
    mul_scalar_(s, 1.0 / static_cast<double>(p.n_red));
    return s;
}

Tensor var(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim, int64_t correction) {
    check<DTypeError>(is_floating(a.dtype()), "var: expected a floating tensor, got ", describe(a));
    ReducePlan p = make_plan(a, dims, "var");
    check<ShapeError>(p.n_red - correction > 0, "var: ", p.n_red, " values with correction ",
                      correction, " leave no degrees of freedom");
    Tensor centered = sub(a, mean(a, dims, true));
    Tensor s = sum(mul(centered, centered), dims, keepdim);
    mul_scalar_(s, 1.0 / static_cast<double>(p.n_red - correction));
    return s;
}

std::pair<Tensor, Tensor> max(const Tensor& a, int64_t dim, bool keepdim) {
    ReducePlan p = make_plan(a, {wrap_dim(dim, a.dim(), "max")}, "max");
    check<ShapeError>(p.n_red > 0, "max: dim ", dim, " of ", shape_str(a.shape()), " is empty");
    Tensor values = empty(final_shape(p, keepdim), a.dtype());
    Tensor indices = empty(final_shape(p, keepdim), DType::Int64);
    dispatch_all(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* src = a.data<T>();
        T* dv = values.data<T>();
        int64_t* di = indices.data<int64_t>();
#pragma omp parallel for schedule(static) if (p.n_out * p.n_red >= kParallelGrain && p.n_out > 1)
        for (int64_t o = 0; o < p.n_out; ++o) {
            T best = src[kept_offset(p, o)];
            int64_t best_i = 0;
            bool nan = false;
            walk_reduced(p, kept_offset(p, o), [&](int64_t off, int64_t i) {
                T v = src[off];
                if (nan) return;
                if constexpr (!std::is_same_v<T, int64_t>) {
                    if (std::isnan(v)) {  // NaN propagates, as in PyTorch
                        best = v;
                        best_i = i;
                        nan = true;
                        return;
                    }
                }
                if (v > best) {
                    best = v;
                    best_i = i;
                }
            });
            dv[o] = best;
            di[o] = best_i;
        }
    });
    return {values, indices};
}

Tensor max_all(const Tensor& a) {
    check<ShapeError>(a.numel() > 0, "max: empty tensor");
    return max(a.reshape({-1}), 0, false).first;
}

Tensor argmax(const Tensor& a, int64_t dim, bool keepdim) { return max(a, dim, keepdim).second; }

Tensor sum_to(const Tensor& a, const Shape& shape) {
    if (a.shape() == shape) return a;
    check<ShapeError>(shape.size() <= a.shape().size(), "sum_to: cannot reduce ", shape_str(a.shape()),
                      " to ", shape_str(shape));
    std::vector<int64_t> dims;
    size_t lead = a.shape().size() - shape.size();
    for (size_t i = 0; i < a.shape().size(); ++i) {
        if (i < lead) {
            dims.push_back(static_cast<int64_t>(i));
        } else if (shape[i - lead] == 1 && a.shape()[i] != 1) {
            dims.push_back(static_cast<int64_t>(i));
        } else {
            check<ShapeError>(shape[i - lead] == a.shape()[i], "sum_to: cannot reduce ",
                              shape_str(a.shape()), " to ", shape_str(shape));
        }
    }
    if (dims.empty()) return a.reshape(shape);
    return sum(a, dims, true).reshape(shape);
}

}  // namespace cardinal::kernels
