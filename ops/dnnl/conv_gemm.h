// float32 convolution as per-image matrix products on plain NCHW memory (dnnl_sgemm), for the
// small-channel layers where oneDNN's convolution kernels are slow and its reorders cost more
// than the arithmetic (docs/performance.md, "training step"). Same math as the reference
// (ops/reference/conv_reference.cpp); for one image n and group g:
//   forward           Y_ng  = W_g col(X_ng)             [Og, Cg*K] x [Cg*K, OH*OW]
//   backward-data     dX_ng = col2im(W_g^T dY_ng)
//   backward-weights  dW_g  = sum_n dY_ng col(X_ng)^T   (per-thread partial sums, added at the end)
// A 1x1 stride-1 unpadded conv needs no col: col(X_ng) is X_ng itself. On 1x1 maps (attention
// fcs), and on channels-last maps, the images and pixels fold into one product per group,
// [N*H*W, Cg] x [Cg, Og]: channels-last memory is that row-major matrix already.
#pragma once
#include "ops/conv_geometry.h"

namespace cardinal::onednn::gemm_conv {

// All pointers dense: x [N, C, H, W], w [O, C/G, KH, KW], y [N, O, OH, OW], in NCHW order, or
// channels-last for pointwise convs (g.channels_last); b may be null.
void forward(const float* x, const float* w, const float* b, float* y, const ConvGeometry& g);
void backward_data(const float* grad_y, const float* w, float* grad_x, const ConvGeometry& g);
// grad_b may be null.
void backward_weights(const float* grad_y, const float* x, float* grad_w, float* grad_b,
                      const ConvGeometry& g);

}  // namespace cardinal::onednn::gemm_conv
