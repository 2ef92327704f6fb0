// The backward engine, in three steps:
//  1. discovery: walk the graph from the roots (iteratively) and count, for every node, how
//     many edges point at it;
//  2. execution: run nodes whose gradients are complete (count reached zero), latest-created
//     first, summing the gradients that arrive for each output slot;
//  3. release: unless retain_graph, each node frees its saved tensors right after it runs.
// A node whose saved tensors were written in place since the forward is refused before it runs
// (Node::check_saved_versions): its gradient would use values the forward never saw.
// Before a node runs, the hooks on its outputs (autograd/hooks.h) may replace or retain their
// gradients; an observer, when one is installed, sees each node after it has run.
#include "autograd/engine.h"

#include <queue>
#include <unordered_map>

#include "autograd/accumulate_grad.h"
#include "autograd/grad_mode.h"
#include "autograd/hooks.h"
#include "autograd/variable.h"
#include "tensor/kernels.h"

namespace cardinal {
namespace {

void check_not_released(const Node& n) {
    check<AutogradError>(!n.released, "backward: trying to backpropagate through ", n.name(),
                         " a second time, but its saved tensors were freed after the first backward; "
                         "pass retain_graph=true to the first backward to keep them");
}

struct ByLatest {
    bool operator()(const Node* a, const Node* b) const { return a->sequence_nr < b->sequence_nr; }
};

}  // namespace

void backward(const Tensor& root, const Tensor& gradient, bool retain_graph) {
    backward(std::vector<Tensor>{root}, std::vector<Tensor>{gradient}, retain_graph);
}

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& gradients, bool retain_graph) {
    check<AutogradError>(roots.size() == gradients.size(), "backward: ", roots.size(), " roots but ",
                         gradients.size(), " gradients");
    NoGradGuard no_grad;  // backward computations are never recorded

    // Gradient buffers, one vector per node (a slot per output).
    std::unordered_map<Node*, std::vector<Tensor>> buffers;
    std::unordered_map<Node*, int64_t> dependencies;
    std::vector<std::shared_ptr<Node>> root_nodes;

    auto accumulate = [&](Node* node, uint32_t slot, Tensor g) {
        auto& buf = buffers[node];
        if (buf.empty()) buf.resize(node->output_meta.size());
        const OutputMeta& meta = node->output_meta.at(slot);
        check<ShapeError>(g.shape() == meta.shape && g.dtype() == meta.dtype, "backward: gradient ",
                          describe(g), " does not match output ", slot, " of ", node->name(), " (",
                          dtype_name(meta.dtype), " ", shape_str(meta.shape), ")");
        buf[slot] = buf[slot].defined() ? kernels::add(buf[slot], g) : std::move(g);
    };

    for (size_t i = 0; i < roots.size(); ++i) {
        const Tensor& r = roots[i];
        check<AutogradError>(r.defined() && requires_grad(r),
                             "backward: the tensor does not require grad and has no grad_fn (",
                             describe(r), "); mark an input with set_requires_grad");
        Tensor g = gradients[i];
        if (!g.defined()) {
            check<AutogradError>(r.numel() == 1, "backward: a gradient can be implied only for a ",
                                 "one-element output; got ", describe(r),
                                 ", so pass the gradient explicitly");
            g = ones(r.shape(), r.dtype());
        }
        Edge e = gradient_edge(r);
        check_not_released(*e.node);
        accumulate(e.node.get(), e.input_nr, g);
        root_nodes.push_back(e.node);
    }

    // 1. Discovery.
    {
        std::vector<Node*> stack;
        std::unordered_map<Node*, bool> seen;
        for (auto& n : root_nodes)
            if (!seen[n.get()]) {
                seen[n.get()] = true;
                stack.push_back(n.get());
            }
        while (!stack.empty()) {
            Node* n = stack.back();
            stack.pop_back();
            for (const Edge& e : n->next_edges) {
                if (!e.valid()) continue;
                dependencies[e.node.get()]++;
                if (!seen[e.node.get()]) {
                    seen[e.node.get()] = true;
                    stack.push_back(e.node.get());
                }
            }
        }
    }

    // 2. Execution.
    std::priority_queue<Node*, std::vector<Node*>, ByLatest> ready;
    for (auto& n : root_nodes)
        if (dependencies[n.get()] == 0) {
            dependencies[n.get()] = -1;  // queued
            ready.push(n.get());
        }
    int64_t executed = 0;  // the execution index an observer sees
    while (!ready.empty()) {
        Node* node = ready.top();
        ready.pop();
        check_not_released(*node);
        node->check_saved_versions();
        std::vector<Tensor> grads = std::move(buffers[node]);
        buffers.erase(node);
        grads.resize(node->output_meta.size());
        for (size_t s = 0; s < grads.size(); ++s)
            if (!grads[s].defined()) grads[s] = zeros(node->output_meta[s].shape, node->output_meta[s].dtype);

        if (node->hooks) run_node_hooks(*node, grads);  // register_hook / retain_grad

        BackwardObserver* observer = BackwardObserver::current();
        std::vector<Tensor> received;
        if (observer) received = grads;  // handles only: apply may consume `grads`
        std::vector<Tensor> input_grads = node->apply(std::move(grads));
        if (observer) observer->notify({*node, executed, received, input_grads});
        ++executed;
        if (!retain_graph && !dynamic_cast<AccumulateGrad*>(node)) {
            node->release();
            node->saved_versions.clear();
            node->released = true;
        }
        // One entry per input, undefined where there is no gradient. Returning none at all is
        // an error too: accepting it would leave every node behind this one unrun, silently.
        check<AutogradError>(input_grads.size() == node->next_edges.size(),
                             "backward: ", node->name(), " returned ", input_grads.size(),
                             " gradients for ", node->next_edges.size(),
                             " inputs (return one per input, an undefined Tensor for none)");
        for (size_t i = 0; i < input_grads.size(); ++i) {
            const Edge& e = node->next_edges[i];
            if (!e.valid()) continue;
            Tensor& g = input_grads[i];
            if (g.defined()) {
                if (anomaly_mode_enabled() && kernels::has_nonfinite(g))
                    fail<AutogradError>("anomaly: ", node->name(), " produced NaN/Inf in the gradient of input ",
                                        i, " (", describe(g), ")");
                check_not_released(*e.node);
                accumulate(e.node.get(), e.input_nr, std::move(g));
            }
            if (--dependencies[e.node.get()] == 0) ready.push(e.node.get());
        }
    }
}

}  // namespace cardinal
