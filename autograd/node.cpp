#include "autograd/node.h"

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

}  // namespace cardinal
