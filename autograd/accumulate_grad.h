// The node at a leaf: adds the incoming gradient into the leaf's grad().
#pragma once
#include "autograd/node.h"

namespace cardinal {

struct AccumulateGrad : Node {
    explicit AccumulateGrad(const Tensor& leaf) : leaf_(leaf.impl_ptr()) {}
    std::string name() const override { return "AccumulateGrad"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) override;
    // The leaf (strong: the graph keeps the parameter it feeds alive, as in PyTorch).
    std::shared_ptr<TensorImpl> leaf_;
};

}  // namespace cardinal
