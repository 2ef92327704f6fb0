// Inference kernels of the channel-attention gates (SE, Selective Kernel, Split Attention).
//
// A gate reads its big activation twice by nature: once for the global average pool that feeds
// its small fcs, once to scale the activation by the gate. Built from separate ops (sum over the
// paths, mean, the fcs, mul, sum over the paths, add, relu) the same gate makes five to eight
// passes over it and allocates a full-size tensor for each. These kernels make the two passes
// alone:
//   pool_sum(paths)                  s[n, c] = mean_{h,w} sum_p paths[p][n, c, h, w]   ([N, C])
//   gate_fc(x, w, b, groups, relu)   a 1x1 convolution on a 1x1 map, as [N, C] rows
//   gated_sum(paths, weights, residual, relu)
//                                    y = relu?(sum_p paths[p] * weights[n, p, c] + residual?)
// with one path these are SE's pool and its x * gate (+ the block's residual add and ReLU).
//
// They read channels-last memory (pixel_major below): channels innermost, so the channel loop is
// contiguous and vectorised, and the pixels of a sample at one stride. That covers a
// channels-last tensor and a channel slice of one (the radix splits of Split Attention are
// slices of one conv output, never copied). Sums are taken in double, the pool over fixed pixel
// chunks added in order, so the result does not depend on the thread count.
//
// pool_sum, gate_fc and gated_sum are inference only: nothing is recorded for backward, and an
// input that wants a gradient (grad mode on and requires_grad) is refused. The blocks call them
// when no gradient is wanted and the layout fits.
//
// split_pool and split_gated_sum are the differentiable forms of the same two passes, for
// training: x [N, R*C, H, W] is read as R radix splits of C channels (Split Attention's conv
// output; R = 1 is SE's single path). Their backward passes are one sweep each as well:
//   split_pool:      gx[n, r*C + c, p] = g[n, c] / HW
//   split_gated_sum: gx[n, r*C + c, p] = gy[n, c, p] * w[n, r, c]
//                    gw[n, r, c]       = sum_p gy[n, c, p] * x[n, r*C + c, p]   (in double)
// On pixel_major x they run these kernels; on any other layout the composed differentiable ops.
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace cardinal {

// True when t is a 4-D float tensor [N, C, H, W] with channels at stride 1 and its pixels at one
// stride (stride(2) == W * stride(3)): what pool_sum and gated_sum read.
bool pixel_major(const Tensor& t);

// [N, C]: the mean over H, W of the sum of the paths (all of one shape and dtype, pixel_major).
Tensor pool_sum(const std::vector<Tensor>& paths);

// [N, O]: relu?(x W^T + b) group by group, for x [N, I] and the weight of a 1x1 convolution
// [O, I / groups, 1, 1] (bias [O] or undefined): the attention fcs, which run on 1x1 maps.
Tensor gate_fc(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups, bool relu);

// relu?(sum_p paths[p] * weights[:, p, :] + residual?) as a new channels-last [N, C, H, W]:
// weights [N, P, C] (the gate of each path and channel), residual pixel_major of the paths'
// shape or undefined.
Tensor gated_sum(const std::vector<Tensor>& paths, const Tensor& weights, const Tensor& residual = Tensor(),
                 bool relu = false);

// The radix splits of x [N, R*C, H, W] as R channel slices [N, C, H, W] (views, never copies).
std::vector<Tensor> radix_splits(const Tensor& x, int64_t radix);

// [N, C]: mean over H, W of sum_r x[:, r*C + c] (differentiable; x [N, R*C, H, W]).
Tensor split_pool(const Tensor& x, int64_t radix);

// [N, C, H, W]: sum_r x[:, r*C + c] * weights[:, r, c] (differentiable; weights [N, R, C]).
Tensor split_gated_sum(const Tensor& x, const Tensor& weights, int64_t radix);

// gated_sum calls since the process started: how tests see that a block took the fused path.
int64_t gated_sum_calls();

}  // namespace cardinal
