// Watching and changing gradients as backward runs.
//
//   retain_grad(t)        keeps the gradient of a non-leaf tensor in grad(t) (leaves always do)
//   register_hook(t, fn)  calls fn with dL/dt once it is complete; fn may return a replacement
//                         (same shape and dtype) or an undefined Tensor to leave it unchanged
//   BackwardObserver      while alive, reports every node the engine runs on this thread: its
//                         name, its execution index, the gradients it received and returned
//
// Hooks of a non-leaf tensor live on the node that produced it (slot = the tensor's output
// number), so they survive the tensor handle going out of scope, as in PyTorch. Hooks of a
// leaf live on the leaf and run before its gradient is accumulated. A graph with no hooks pays
// one null-pointer test per node; no observer costs one thread-local load per node.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/node.h"
#include "tensor/tensor.h"

namespace cardinal {

using GradHook = std::function<Tensor(const Tensor& grad)>;

// Keeps dL/dt in grad(t) after backward (accumulating over backwards, like a leaf). A no-op on
// a leaf; an AutogradError on a tensor that does not require grad.
void retain_grad(const Tensor& t);
// Whether retain_grad was called on t (true for leaves that require grad).
bool retains_grad(const Tensor& t);
// Adds fn to t's hooks (run in registration order, each seeing the previous one's result; a
// retained gradient is the value after all hooks).
void register_hook(const Tensor& t, GradHook fn);
// Adds fn to a leaf's post-accumulate hooks: called with the leaf after AccumulateGrad has
// added this backward's gradient into grad(leaf) (the engine runs a leaf's AccumulateGrad once
// per backward, so the gradient is final then). An AutogradError on a non-leaf or a leaf that
// does not require grad.
void register_post_accumulate_hook(const Tensor& leaf, std::function<void(const Tensor&)> fn);
// Removes every post-accumulate hook of the leaf.
void clear_post_accumulate_hooks(const Tensor& leaf);
// Runs the leaf's post-accumulate hooks. Called by AccumulateGrad after accumulating.
void run_post_accumulate_hooks(const Tensor& leaf);

// The hooks of one node, created only when a hook is registered on one of its outputs.
struct NodeHooks {
    struct SlotHook {
        uint32_t slot;
        GradHook fn;
    };
    struct Retained {
        uint32_t slot;
        std::weak_ptr<TensorImpl> tensor;  // weak: retaining must not keep the tensor alive
    };
    std::vector<SlotHook> hooks;
    std::vector<Retained> retained;
};

// Runs the hooks of `node` on the gradients of its outputs (replacing them in place), then
// stores the retained ones. Called by the engine before apply.
void run_node_hooks(const Node& node, std::vector<Tensor>& grad_outputs);
// Runs the hooks registered on a leaf on its incoming gradient. Called by AccumulateGrad.
Tensor run_leaf_hooks(const Tensor& leaf, Tensor grad);

// One node run by the engine.
struct BackwardEvent {
    const Node& node;
    int64_t index;                            // 0, 1, 2, ... in execution order within one backward
    const std::vector<Tensor>& grad_outputs;  // received: dL/d(each output), after hooks
    const std::vector<Tensor>& grad_inputs;   // returned: dL/d(each input), undefined if not needed
};

// While alive, `fn` sees every node the engine runs on this thread (observers nest: the newest
// one is called). Only for watching: the tensors must not be modified.
class BackwardObserver {
  public:
    explicit BackwardObserver(std::function<void(const BackwardEvent&)> fn);
    ~BackwardObserver();
    BackwardObserver(const BackwardObserver&) = delete;
    BackwardObserver& operator=(const BackwardObserver&) = delete;

    // The innermost observer of this thread, or null.
    static BackwardObserver* current();
    void notify(const BackwardEvent& e) const { fn_(e); }

  private:
    std::function<void(const BackwardEvent&)> fn_;
    BackwardObserver* prev_;
};

}  // namespace cardinal
