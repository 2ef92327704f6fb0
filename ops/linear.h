// Matrix products.
#pragma once
#include "tensor/tensor.h"

namespace cardinal {

// [M,K] x [K,N] or batched [B,M,K] x [B,K,N].
Tensor matmul(const Tensor& a, const Tensor& b);
// y = x W^T + b for x [N, in], W [out, in], b [out] (b may be undefined).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace cardinal
