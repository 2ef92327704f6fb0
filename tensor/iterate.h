// Strided iteration shared by the elementwise kernels: visits every element of a (broadcast)
// shape once, giving each operand's element offset. Adjacent dims that are contiguous in every
// operand are merged first, so contiguous tensors become one long row the compiler vectorizes.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tensor/shape.h"

namespace cardinal::detail {

// Throws ValueError unless distinct elements of (shape, strides) are at distinct offsets. A
// destination that fails (an expanded view, stride 0 over a dim of size > 1) would be written
// by several threads at once and its elements summed in a race, so no kernel writes into one
// (PyTorch refuses the same). The test: visiting dims from the smallest stride up, each
// stride must step past everything the smaller dims span, which every layout our views make
// (slices, transposes, narrows, steps) satisfies.
inline void check_no_internal_overlap(const Shape& shape, const Shape& strides) {
    std::vector<size_t> dims;
    for (size_t d = 0; d < shape.size(); ++d)
        if (shape[d] > 1) dims.push_back(d);
    std::sort(dims.begin(), dims.end(), [&](size_t a, size_t b) { return strides[a] < strides[b]; });
    int64_t span = 0;  // largest offset reachable with the dims so far
    for (size_t d : dims) {
        check<ValueError>(strides[d] > span,
                          "cannot write into a tensor whose elements overlap in memory (shape ",
                          shape_str(shape), ", strides ", shape_str(strides),
                          ", e.g. an expand()ed view); write into a clone() instead");
        span += (shape[d] - 1) * strides[d];
    }
}

// Calls row(base, step, count) for runs of `count` elements: operand k's elements are at
// base[k] + i*step[k] for i in [0, count). Rows are distributed over OpenMP threads. Operand 0
// is the one written: it must not overlap itself (check_no_internal_overlap).
// Dims are visited in operand 0's memory order (largest stride first), so a channels-last
// destination is written pixel by pixel with the channels as the contiguous inner run.
template <size_t N, typename Row>
void for_each_row(const Shape& shape, const std::array<Shape, N>& strides, Row&& row) {
    check_no_internal_overlap(shape, strides[0]);  // operand 0 is the destination
    std::vector<size_t> order;
    for (size_t d = 0; d < shape.size(); ++d)
        if (shape[d] != 1) order.push_back(d);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return strides[0][a] > strides[0][b];
    });
    // Merge dims (drop size-1 dims, join contiguous neighbours).
    std::vector<int64_t> sz;
    std::vector<std::array<int64_t, N>> st;
    for (size_t d : order) {
        std::array<int64_t, N> s{};
        for (size_t k = 0; k < N; ++k) s[k] = strides[k][d];
        if (!sz.empty()) {
            bool mergeable = true;
            for (size_t k = 0; k < N; ++k)
                if (st.back()[k] != s[k] * shape[d]) mergeable = false;
            if (mergeable) {
                sz.back() *= shape[d];
                st.back() = s;
                continue;
            }
        }
        sz.push_back(shape[d]);
        st.push_back(s);
    }
    int64_t total = 1;
    for (int64_t v : shape) total *= v;
    if (total == 0) return;
    if (sz.empty()) {  // a single element
        row(std::array<int64_t, N>{}, std::array<int64_t, N>{}, int64_t{1});
        return;
    }
    const int64_t inner = sz.back();
    const std::array<int64_t, N> step = st.back();
    const int64_t outer = total / inner;
    const int nd = static_cast<int>(sz.size()) - 1;
    auto base_of = [&](int64_t o) {
        std::array<int64_t, N> base{};
        for (int d = nd - 1; d >= 0; --d) {
            int64_t i = o % sz[d];
            o /= sz[d];
            for (size_t k = 0; k < N; ++k) base[k] += i * st[d][k];
        }
        return base;
    };
    const bool par = total >= kParallelGrain;
    if (outer == 1) {
        // One long row: split it into chunks so both cores work.
        const int64_t chunk = 16384;
        const int64_t nchunks = (inner + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (par && nchunks > 1)
        for (int64_t c = 0; c < nchunks; ++c) {
            std::array<int64_t, N> base{};
            for (size_t k = 0; k < N; ++k) base[k] = c * chunk * step[k];
            row(base, step, std::min(chunk, inner - c * chunk));
        }
        return;
    }
#pragma omp parallel for schedule(static) if (par)
    for (int64_t o = 0; o < outer; ++o) row(base_of(o), step, inner);
}

// Strides of `src_shape`/`src_strides` broadcast to `shape` (0 on broadcast dims).
inline Shape broadcast_strides(const Shape& src_shape, const Shape& src_strides, const Shape& shape) {
    Shape out(shape.size(), 0);
    size_t lead = shape.size() - src_shape.size();
    for (size_t i = 0; i < src_shape.size(); ++i)
        out[lead + i] = src_shape[i] == 1 ? 0 : src_strides[i];
    return out;
}

}  // namespace cardinal::detail
