// Reverse-mode differentiation: runs the graph behind `roots` backwards.
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace cardinal {

// d(root)/d(leaves), accumulated into every leaf's grad(). `gradient` defaults to 1 for a
// one-element root. Unless retain_graph, the graph's saved tensors are freed as it runs, and a
// second backward through it is an AutogradError.
void backward(const Tensor& root, const Tensor& gradient = Tensor(), bool retain_graph = false);
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& gradients,
              bool retain_graph = false);

}  // namespace cardinal
