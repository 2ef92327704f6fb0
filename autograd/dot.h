// The graph that produced a tensor, as Graphviz DOT: one box per backward node (its name and
// output shapes), leaves shown as their AccumulateGrad with the parameter shape.
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace cardinal {

std::string to_dot(const Tensor& t);

}  // namespace cardinal
