// Losses.
#pragma once
#include "tensor/tensor.h"

namespace cardinal {

enum class Reduction { Mean, Sum, None };

// logits [N, C] float, targets [N] int64 in [0, C). label_smoothing in [0, 1): the target
// distribution is (1 - ls) * onehot + ls / C, as in PyTorch.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, Reduction reduction = Reduction::Mean,
                     double label_smoothing = 0.0);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

}  // namespace cardinal
