// The backward graph. Each recorded op leaves one Node behind; the node knows how to turn the
// gradients of its outputs into gradients of its inputs (apply) and where those go (next_edges).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace cardinal {

struct Node;
struct NodeHooks;  // autograd/hooks.h

// Where a gradient flows: input `input_nr` of `node` (the slot of the node's output that the
// tensor was). An empty edge means "this input does not need a gradient".
struct Edge {
    std::shared_ptr<Node> node;
    uint32_t input_nr = 0;
    bool valid() const { return node != nullptr; }
};

// Shape and dtype of one output, kept so that a missing gradient can be made as zeros and a
// returned gradient can be checked.
struct OutputMeta {
    Shape shape;
    DType dtype;
};

// A tensor a node saved for backward, as it was then: its storage and that storage's version
// (tensor/tensor.h). Every view of a storage shares one counter, and every in-place write
// (fill_, copy_, the in-place kernels, optimizer steps, Module::to) bumps it, so a changed
// version at backward means the saved values are no longer the ones the forward used.
struct SavedVersion {
    std::shared_ptr<Storage> storage;
    uint64_t version = 0;
    Shape shape;  // for the error message
    DType dtype = DType::Float32;
};

struct Node {
    virtual ~Node();
    // "MulBackward", "Conv2dBackward", ...: used in errors, anomaly reports and DOT graphs.
    virtual std::string name() const = 0;
    // Gradients w.r.t. the inputs, one per next edge (undefined where not needed), given the
    // gradients w.r.t. this node's outputs (always defined: missing ones arrive as zeros).
    virtual std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) = 0;
    // Frees saved tensors; called after apply unless the graph is retained.
    virtual void release() {}
    // Bytes of what the node keeps for backward (saved tensors, argmax and per-sample or
    // per-channel buffers; not shapes and options), 0 once released. Every node that overrides
    // release() reports here what release() frees: `cardinal graph --values` shows it per node.
    // A saved tensor counts its own elements even when it shares storage with a live tensor
    // (a saved input or output costs nothing extra while that tensor lives, a lot once it dies).
    virtual size_t saved_bytes() const { return 0; }

    // The value of `t` for use in backward: same data, no history (so a node never keeps its own
    // outputs' graph alive through a reference cycle). Remembers t's storage version, so that
    // backward refuses to run this node once `t` has been modified in place (as PyTorch's
    // "modified by an inplace operation"); without it the gradient would silently use the new
    // values. Undefined stays undefined.
    Tensor save(const Tensor& t);
    // Throws AutogradError naming this node, the tensor and both versions when a tensor it saved
    // has been written in place since. The engine calls it before apply().
    void check_saved_versions() const;

    // Whether input i needs a gradient (so apply can skip work that nobody uses).
    bool needs_input_grad(size_t i) const { return i < next_edges.size() && next_edges[i].valid(); }

    std::vector<Edge> next_edges;
    std::vector<OutputMeta> output_meta;
    uint64_t sequence_nr = 0;  // creation order: later nodes run first in backward
    bool released = false;
    std::vector<SavedVersion> saved_versions;  // one per save(), cleared with the saved tensors
    // Hooks on this node's outputs (retain_grad, register_hook); null until one is registered.
    std::shared_ptr<NodeHooks> hooks;
};

// The bytes of `t`'s elements (0 when undefined): what saving it keeps alive at least.
inline size_t saved_bytes_of(const Tensor& t) {
    return t.defined() ? static_cast<size_t>(t.numel()) * dtype_size(t.dtype()) : 0;
}

}  // namespace cardinal
