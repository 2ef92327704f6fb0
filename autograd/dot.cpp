#include "autograd/dot.h"

#include <sstream>
#include <unordered_map>

#include "autograd/variable.h"

namespace cardinal {

std::string to_dot(const Tensor& t) { return to_dot(t, nullptr); }

std::string to_dot(const Tensor& t, const std::function<std::string(const Node&)>& annotate) {
    std::ostringstream os;
    os << "digraph autograd {\n  node [shape=box, fontname=\"monospace\"];\n";
    os << "  out [label=\"output\\n" << describe(t) << "\", shape=ellipse];\n";
    Edge root = gradient_edge(t);
    if (!root.valid()) {
        os << "}\n";
        return os.str();
    }
    std::unordered_map<Node*, int> ids;
    std::vector<Node*> stack{root.node.get()};
    ids[root.node.get()] = 0;
    os << "  n0 -> out;\n";
    while (!stack.empty()) {
        Node* n = stack.back();
        stack.pop_back();
        int id = ids[n];
        os << "  n" << id << " [label=\"" << n->name();
        for (const OutputMeta& m : n->output_meta)
            os << "\\n" << dtype_name(m.dtype) << " " << shape_str(m.shape);
        if (annotate)
            if (std::string extra = annotate(*n); !extra.empty()) os << "\\n" << extra;
        os << "\"" << (n->name() == "AccumulateGrad" ? ", style=filled, fillcolor=lightblue" : "")
           << "];\n";
        for (const Edge& e : n->next_edges) {
            if (!e.valid()) continue;
            auto [it, inserted] = ids.emplace(e.node.get(), static_cast<int>(ids.size()));
            if (inserted) stack.push_back(e.node.get());
            os << "  n" << it->second << " -> n" << id << ";\n";
        }
    }
    os << "}\n";
    return os.str();
}

}  // namespace cardinal
