// Inference fusion of Conv2d -> BatchNorm2d (-> + residual) (-> ReLU) into one convolution.
//
// In eval mode BatchNorm is an affine map per output channel, so it folds into the conv:
//   s_o = gamma_o / sqrt(running_var_o + eps)
//   w'[o, ...] = w[o, ...] * s_o,    b'_o = (b_o - running_mean_o) * s_o + beta_o   (b = 0 without bias)
// and conv(x, w') + b' equals bn(conv(x, w, b)) up to rounding. The residual add and the ReLU that
// follow in a residual block then run as post-ops of that convolution (ops/conv.h,
// conv2d_inference): one pass over the output instead of four (conv, bn, add, relu).
//
// The folded weights are cached in the BatchNorm2d and rebuilt when any of the five tensors
// changes (storage id + version, tensor/tensor.h), e.g. after an optimizer step or a load.
#pragma once
#include <mutex>

#include "nn/layers/batch_norm.h"
#include "nn/layers/conv.h"

namespace cardinal {

// True when the fused path computes exactly what the modules would: bn in eval mode, and no
// gradient wanted (grad mode off, or nothing involved requires grad).
bool can_fold_conv_bn(const Conv2d& conv, const BatchNorm2d& bn, const Tensor& x);

// True when a forward of `m` on `inputs` wants no gradient: grad mode off, or neither an input
// nor a parameter of m requires grad. The inference-only paths (the fused attention gates of
// ops/channel_gates.h) run only then. Undefined inputs are skipped.
bool no_grad_wanted(const Module& m, const std::vector<Tensor>& inputs);

// relu?(bn(conv(x)) + residual?): fused (folded, post-ops) when can_fold_conv_bn, else the
// modules one after another (so training and gradients are unchanged).
Tensor conv_bn_act(Conv2d& conv, BatchNorm2d& bn, const Tensor& x, bool relu,
                   const Tensor& residual = Tensor());

}  // namespace cardinal
