// Differentiable elementwise math.
#pragma once
#include "tensor/tensor.h"

namespace cardinal {

Tensor neg(const Tensor& a);
Tensor pow(const Tensor& a, double exponent);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
inline Tensor operator-(const Tensor& a) { return neg(a); }

}  // namespace cardinal
