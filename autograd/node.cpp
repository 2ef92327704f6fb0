#include "autograd/node.h"

#include "tensor/error.h"

namespace cardinal {

// Destroying the last reference to a long chain of nodes would recurse once per node (each
// node's destructor drops the next). A 269-layer network makes chains thousands of nodes deep,
// so children are moved onto a thread-local stack and released in a loop instead.
Node::~Node() {
    thread_local std::vector<std::shared_ptr<Node>> pending;
    thread_local bool draining = false;
    for (Edge& e : next_edges)
        if (e.node) pending.push_back(std::move(e.node));
    next_edges.clear();
    if (draining) return;
    draining = true;
    while (!pending.empty()) {
        std::shared_ptr<Node> n = std::move(pending.back());
        pending.pop_back();
        n.reset();  // may run a child's destructor, which only pushes onto `pending`
    }
    draining = false;
}

Tensor Node::save(const Tensor& t) {
    if (!t.defined()) return Tensor();
    saved_versions.push_back({t.storage(), t.storage()->version(), t.shape(), t.dtype()});
    return t.alias();
}

void Node::check_saved_versions() const {
    for (const SavedVersion& s : saved_versions) {
        const uint64_t now = s.storage->version();
        check<AutogradError>(
            now == s.version, "backward: a tensor needed for gradient computation was modified by an ",
            "in-place operation: ", dtype_name(s.dtype), " ", shape_str(s.shape), " saved by ", name(),
            " is at version ", now, "; expected version ", s.version,
            " (the version when it was saved). Write into a clone, or make the in-place change "
            "(fill_, copy_, add_, an optimizer step, Module::to) after backward");
    }
}

}  // namespace cardinal
