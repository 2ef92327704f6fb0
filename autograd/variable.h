// Autograd state of a tensor and the user-facing functions on it.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "autograd/node.h"
#include "tensor/tensor.h"

namespace cardinal {

// Stored in TensorImpl::autograd.
struct AutogradMeta : AutogradMetaBase {
    bool requires_grad = false;      // leaves: set by the user; outputs: true when recorded
    Tensor grad;                     // accumulated gradient (leaves only)
    std::shared_ptr<Node> grad_fn;   // the node that produced this tensor (null for leaves)
    uint32_t output_nr = 0;          // which output of grad_fn this is
    std::weak_ptr<Node> grad_accumulator;  // leaves: the AccumulateGrad node, while a graph holds it
    // Leaves: register_hook functions, run on the incoming gradient before it is accumulated
    // (non-leaf hooks live on grad_fn; see autograd/hooks.h).
    std::vector<std::function<Tensor(const Tensor&)>> leaf_hooks;
};

// The tensor's autograd state, or null when it has none.
AutogradMeta* autograd_meta(const Tensor& t);
AutogradMeta& ensure_autograd_meta(const Tensor& t);

bool requires_grad(const Tensor& t);
// Marks a leaf as requiring grad (returns the same handle for chaining). Only leaves may be
// changed: a recorded output already requires grad.
const Tensor& set_requires_grad(const Tensor& t, bool value = true);
bool is_leaf(const Tensor& t);
std::shared_ptr<Node> grad_fn(const Tensor& t);
// The accumulated gradient of a leaf (undefined until a backward reaches it).
Tensor grad(const Tensor& t);
void set_grad(const Tensor& t, const Tensor& g);
// Clears the accumulated gradient.
void zero_grad(const Tensor& t);
// The same data with no history: gradients stop here.
Tensor detach(const Tensor& t);

// The edge a gradient for `t` flows into: its grad_fn, or its AccumulateGrad if it is a leaf
// that requires grad, or an empty edge.
Edge gradient_edge(const Tensor& t);

}  // namespace cardinal
