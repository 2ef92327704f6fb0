// Differentiable activations and normalised exponentials.
#pragma once
#include "tensor/tensor.h"

namespace cardinal {

Tensor relu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace cardinal
