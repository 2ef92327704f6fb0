#include "tensor/memory_format.h"

#include <algorithm>
#include <atomic>


namespace cardinal {
namespace {
std::atomic<int64_t> g_layout_conversions{0};
}  // namespace

std::vector<int64_t> dims_in_memory_order(const Tensor& t) {
    std::vector<int64_t> order, ones;
    for (int64_t d = 0; d < t.dim(); ++d) (t.shape()[d] == 1 ? ones : order).push_back(d);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return t.strides()[a] > t.strides()[b]; });
    order.insert(order.end(), ones.begin(), ones.end());
    return order;
}

const char* memory_format_name(MemoryFormat f) {
    return f == MemoryFormat::ChannelsLast ? "channels_last" : "contiguous";
}

Shape channels_last_strides(const Shape& s) {
    check<ShapeError>(s.size() == 4, "channels_last: expected a 4-D shape [N, C, H, W], got ",
                      shape_str(s));
    return {s[1] * s[2] * s[3], 1, s[3] * s[1], s[1]};
}

bool is_channels_last(const Tensor& t) {
    if (t.dim() != 4) return false;
    const Shape expected = channels_last_strides(t.shape());
    for (int d = 0; d < 4; ++d)
        if (t.shape()[d] != 1 && t.strides()[d] != expected[d]) return false;
    return true;
}

MemoryFormat memory_format_of(const Tensor& t) {
    return !t.is_contiguous() && is_channels_last(t) ? MemoryFormat::ChannelsLast
                                                     : MemoryFormat::Contiguous;
}

MemoryFormat suggest_memory_format(const Tensor& t) {
    if (t.dim() != 4 || t.is_contiguous()) return MemoryFormat::Contiguous;
    if (is_channels_last(t)) return MemoryFormat::ChannelsLast;
    const std::vector<int64_t> order = dims_in_memory_order(t);
    const std::vector<int64_t> nhwc{0, 2, 3, 1};
    // Compare the memory order of the dims larger than 1 with N, H, W, C's.
    std::vector<int64_t> want;
    for (int64_t d : nhwc)
        if (t.shape()[d] != 1) want.push_back(d);
    const bool channels_innermost = std::equal(want.begin(), want.end(), order.begin());
    return channels_innermost && t.shape()[1] > 1 ? MemoryFormat::ChannelsLast
                                                  : MemoryFormat::Contiguous;
}

bool is_dense(const Tensor& t) {
    int64_t expected = 1;
    const std::vector<int64_t> order = dims_in_memory_order(t);
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        if (t.shape()[*it] == 1) continue;
        if (t.strides()[*it] != expected) return false;
        expected *= t.shape()[*it];
    }
    return true;
}

Tensor empty(const Shape& shape, DType dtype, MemoryFormat f) {
    if (f == MemoryFormat::Contiguous) return empty(shape, dtype);
    check<ShapeError>(shape.size() == 4, "empty: channels_last needs a 4-D shape [N, C, H, W], got ",
                      shape_str(shape));
    // Allocate NHWC contiguously, then view it as [N, C, H, W].
    return empty({shape[0], shape[2], shape[3], shape[1]}, dtype).permute({0, 3, 1, 2});
}

Tensor empty_with_layout_of(const Tensor& like, const Shape& shape, DType dtype) {
    if (!like.defined() || like.shape() != shape || like.is_contiguous() || !is_dense(like))
        return empty(shape, dtype);
    return empty_in_order(shape, dims_in_memory_order(like), dtype);
}

Tensor empty_in_order(const Shape& shape, const std::vector<int64_t>& order, DType dtype) {
    check<ShapeError>(order.size() == shape.size(), "empty_in_order: order has ", order.size(),
                      " dims, shape ", shape_str(shape), " has ", shape.size());
    Shape permuted;
    for (int64_t d : order) permuted.push_back(shape[d]);
    std::vector<int64_t> inverse(order.size());
    for (size_t i = 0; i < order.size(); ++i) inverse[order[i]] = static_cast<int64_t>(i);
    return empty(permuted, dtype).permute(inverse);
}

Tensor to_memory_format(const Tensor& t, MemoryFormat f) {
    const bool already = f == MemoryFormat::Contiguous ? t.is_contiguous() : is_channels_last(t);
    if (already) return t;
    Tensor out = empty(t.shape(), t.dtype(), f);
    out.copy_(t);
    if (is_dense(t)) g_layout_conversions.fetch_add(1, std::memory_order_relaxed);
    return out;
}

int64_t layout_conversions() { return g_layout_conversions.load(std::memory_order_relaxed); }

}  // namespace cardinal
