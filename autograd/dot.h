// The graph that produced a tensor, as Graphviz DOT: one box per backward node (its name and
// output shapes), leaves shown as their AccumulateGrad with the parameter shape.
#pragma once
#include <functional>
#include <string>

#include "autograd/node.h"
#include "tensor/tensor.h"

namespace cardinal {

std::string to_dot(const Tensor& t);
// The same, with `annotate(node)` appended to each node's label (one or more lines separated
// by "\n"; empty for none): e.g. the execution index and gradient norm of a backward run.
std::string to_dot(const Tensor& t, const std::function<std::string(const Node&)>& annotate);

}  // namespace cardinal
