// Memory formats: how the four dims of an activation [N, C, H, W] are laid out in memory.
//
// The logical shape never changes; only the strides do. Contiguous is row-major NCHW (strides
// C*H*W, H*W, W, 1). ChannelsLast is NHWC (strides H*W*C, 1, W*C, C): the C values of one pixel
// are adjacent, which is what oneDNN's fast convolution kernels read and write, so a network
// whose activations stay ChannelsLast from the stem to the global pool runs every convolution
// without a reorder (docs/performance.md). Because the format lives in the strides, every op
// stays correct on either format; the fast ones read the format and keep it.
//
// Other dense layouts (any permutation of the dims with no gaps) are "dense"; elementwise
// kernels keep whatever dense layout their input has (tensor/elementwise.cpp).
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace cardinal {

enum class MemoryFormat : uint8_t { Contiguous, ChannelsLast };

const char* memory_format_name(MemoryFormat f);

// NHWC strides for a 4-D shape.
Shape channels_last_strides(const Shape& shape);

// True when t is 4-D and its strides are NHWC's (size-1 dims may have any stride). A tensor
// with C == 1 or H == W == 1 is both contiguous and channels-last.
bool is_channels_last(const Tensor& t);

// The format t is in, preferring Contiguous when it is both.
MemoryFormat memory_format_of(const Tensor& t);

// t's dims ordered by stride, largest first (the order they are laid out in memory), with the
// size-1 dims, which carry no layout, at the end. t.permute(order) is contiguous when t is dense.
std::vector<int64_t> dims_in_memory_order(const Tensor& t);

// The format an op should give its output for input t: ChannelsLast when t is channels-last,
// or a 4-D view whose channels are its innermost dim (a channel slice of a channels-last
// tensor, as split-input paths take); Contiguous otherwise.
MemoryFormat suggest_memory_format(const Tensor& t);

// True when t's elements fill their storage range without gaps or overlaps, in any dim order.
bool is_dense(const Tensor& t);

// An uninitialised tensor of `shape` in format f (ChannelsLast needs a 4-D shape).
Tensor empty(const Shape& shape, DType dtype, MemoryFormat f);

// An uninitialised tensor of `shape` whose dims are ordered in memory as those of `like` are,
// when `like` has the same shape and is dense; otherwise contiguous. This is how kernels keep
// an input's layout in their outputs.
Tensor empty_with_layout_of(const Tensor& like, const Shape& shape, DType dtype);

// An uninitialised tensor of `shape` laid out with its dims in memory order `order` (a
// permutation of the dims, outermost first, as dims_in_memory_order returns).
Tensor empty_in_order(const Shape& shape, const std::vector<int64_t>& order, DType dtype);

// t itself when already in format f, else a copy in f. A copy of a dense tensor into another
// layout is a layout conversion and is counted (layout_conversions()); benchmarks report it
// with oneDNN's reorders.
Tensor to_memory_format(const Tensor& t, MemoryFormat f);

// Layout conversions made by to_memory_format since the process started.
int64_t layout_conversions();

}  // namespace cardinal
