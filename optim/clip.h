// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_.
#pragma once
#include <limits>
#include <vector>

#include "tensor/tensor.h"

namespace cardinal {

// The norm of all gradients taken together (parameters without a gradient are ignored);
// when max_norm / (total + 1e-6) < 1 every gradient is scaled by that factor in place.
// norm_type is 2 (Euclidean) or infinity (max abs). Returns the total norm before clipping.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);

}  // namespace cardinal
