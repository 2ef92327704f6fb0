#include "autograd/function.h"

#include <atomic>

#include "autograd/accumulate_grad.h"
#include "autograd/hooks.h"
#include "tensor/kernels.h"
#include "tensor/memory_format.h"

namespace cardinal {
namespace detail {

uint64_t next_sequence_nr() {
    static std::atomic<uint64_t> counter{0};
    return ++counter;
}

bool any_requires_grad(const std::vector<Tensor>& inputs) {
    for (const Tensor& t : inputs)
        if (t.defined() && requires_grad(t)) return true;
    return false;
}

}  // namespace detail

void record(const std::shared_ptr<Node>& node, const std::vector<Tensor>& outputs) {
    if (anomaly_mode_enabled()) {
        for (size_t i = 0; i < outputs.size(); ++i)
            if (outputs[i].defined() && kernels::has_nonfinite(outputs[i]))
                fail<AutogradError>("anomaly: the forward of ", node->name(), " produced NaN/Inf in output ",
                                    i, " (", describe(outputs[i]), ")");
    }
    node->output_meta.clear();
    for (size_t i = 0; i < outputs.size(); ++i) {
        const Tensor& out = outputs[i];
        node->output_meta.push_back({out.shape(), out.dtype()});
        AutogradMeta& m = ensure_autograd_meta(out);
        m.grad_fn = node;
        m.output_nr = static_cast<uint32_t>(i);
        m.requires_grad = true;
    }
}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>&& grads) {
    Tensor leaf(leaf_);
    // The leaf may have been converted in place since the forward (Module::to swaps its storage
    // and dtype): a gradient of the old type must not become the new tensor's grad.
    check<AutogradError>(leaf.dtype() == output_meta[0].dtype && leaf.shape() == output_meta[0].shape,
                         "backward: the gradient for a leaf recorded as ", dtype_name(output_meta[0].dtype),
                         " ", shape_str(output_meta[0].shape), " arrives after the leaf became ",
                         describe(leaf), " (changed in place, e.g. by Module::to, after the forward)");
    AutogradMeta& m = ensure_autograd_meta(leaf);
    if (!m.leaf_hooks.empty()) grads[0] = run_leaf_hooks(leaf, std::move(grads[0]));
    Tensor& g = grads[0];
    if (!m.grad.defined()) {
        // Take the buffer when nobody else can see it; otherwise copy, so that a later
        // in-place accumulation cannot change another tensor. A dense gradient keeps its
        // layout (a channels-last input gets a channels-last gradient).
        if (g.storage().use_count() > 1 || !is_dense(g)) {
            Tensor copy = empty_with_layout_of(g, g.shape(), g.dtype());
            copy.copy_(g);
            m.grad = copy;
        } else {
            m.grad = g;
        }
    } else {
        kernels::add_(m.grad, g);
    }
    run_post_accumulate_hooks(leaf);
    return {};
}

}  // namespace cardinal
