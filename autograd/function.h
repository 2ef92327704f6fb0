// How an op records itself. The pattern (see ops/arithmetic.cpp):
//
//   Tensor mul(const Tensor& a, const Tensor& b) {
//       Tensor out = kernels::mul(a, b);
//       if (auto node = make_node<MulBackward>({a, b})) {   // null unless a grad is needed
//           node->saved_a_ = node->save(a);  // Node::save: checked for in-place changes
//           node->saved_b_ = node->save(b);
//           record(node, {out});
//       }
//       return out;
//   }
#pragma once
#include <initializer_list>
#include <memory>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/variable.h"

namespace cardinal {

namespace detail {
uint64_t next_sequence_nr();
bool any_requires_grad(const std::vector<Tensor>& inputs);
}  // namespace detail

// A new node wired to `inputs` (one next edge per input, in order), or null when grad mode is
// off or no input requires grad. Undefined tensors are allowed (optional inputs such as a
// missing bias) and get an empty edge.
template <typename NodeT>
std::shared_ptr<NodeT> make_node(const std::vector<Tensor>& inputs) {
    if (!grad_mode_enabled() || !detail::any_requires_grad(inputs)) return nullptr;
    auto node = std::make_shared<NodeT>();
    node->sequence_nr = detail::next_sequence_nr();
    node->next_edges.reserve(inputs.size());
    for (const Tensor& t : inputs) node->next_edges.push_back(t.defined() ? gradient_edge(t) : Edge{});
    return node;
}

// Makes `node` the grad_fn of `outputs` (output i is slot i). In anomaly mode, first checks
// the outputs for NaN/Inf.
void record(const std::shared_ptr<Node>& node, const std::vector<Tensor>& outputs);

}  // namespace cardinal
