#include "nn/layers/basic.h"

#include "ops/shape_ops.h"

namespace cardinal {

Tensor Flatten::forward(const Tensor& x) { return flatten(x, start_, end_); }

}  // namespace cardinal
