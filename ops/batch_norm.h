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

}  // namespace cardinal
