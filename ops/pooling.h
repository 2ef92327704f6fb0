// Pooling over the spatial dims of NCHW tensors.
#pragma once
#include <array>

#include "tensor/tensor.h"

namespace cardinal {

using Size2 = std::array<int64_t, 2>;

// Padding acts as -inf. stride defaults to kernel when given as {0, 0}.
Tensor max_pool2d(const Tensor& x, Size2 kernel, Size2 stride = {0, 0}, Size2 padding = {0, 0},
                  Size2 dilation = {1, 1}, bool ceil_mode = false);
// count_include_pad: divide by the full window (zeros counted) or by the in-bounds count.
Tensor avg_pool2d(const Tensor& x, Size2 kernel, Size2 stride = {0, 0}, Size2 padding = {0, 0},
                  bool ceil_mode = false, bool count_include_pad = true);
// PyTorch's adaptive windows: start = floor(i*H/oh), end = ceil((i+1)*H/oh).
Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size);
Tensor adaptive_max_pool2d(const Tensor& x, Size2 output_size);
// Mean over H and W: [N, C, H, W] -> [N, C, 1, 1] (the fast path of adaptive_avg_pool2d(1)).
Tensor global_avg_pool2d(const Tensor& x);

}  // namespace cardinal
