#include "nn/layers/activation.h"

#include "ops/activation.h"

namespace cardinal {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Softmax::forward(const Tensor& x) { return softmax(x, dim_); }

}  // namespace cardinal
