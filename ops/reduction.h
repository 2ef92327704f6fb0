// Differentiable reductions. Empty dims means all dims.
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace cardinal {

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Max values over one dim (the gradient goes to the first maximal element).
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);

}  // namespace cardinal
