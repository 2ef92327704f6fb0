// Batch normalisation over (N, H, W) for each channel of an NCHW tensor.
#pragma once
#include "tensor/tensor.h"

namespace cardinal {

// training: normalise with the batch mean and biased variance, then update running_mean and
// running_var in place (running_var with the unbiased variance) with `momentum`.
// eval: normalise with the running statistics. weight/bias [C] may be undefined (no affine).
// Differentiable in x, weight and bias.
Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                    const Tensor& running_mean, const Tensor& running_var, bool training,
                    double momentum = 0.1, double eps = 1e-5);

// relu(batch_norm2d(...)) as one op: the ReLU runs inside the normalising sweep, and the backward
// masks the gradient inside BatchNorm's own two sweeps (no separate ReLU pass or node). It saves
// its output for the mask, which the next layer usually saves anyway (same storage).
Tensor batch_norm2d_relu(const Tensor& x, const Tensor& weight, const Tensor& bias,
                         const Tensor& running_mean, const Tensor& running_var, bool training,
                         double momentum = 0.1, double eps = 1e-5);

}  // namespace cardinal
