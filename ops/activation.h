// Differentiable activations and normalised exponentials.
#pragma once
#include "tensor/tensor.h"

namespace cardinal {

Tensor relu(const Tensor& x);
// relu(a + b) in one pass forward and one backward (a residual block's tail). a and b of one
// shape and dtype; other combinations compute relu(a + b) with the separate ops.
Tensor add_relu(const Tensor& a, const Tensor& b);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace cardinal
