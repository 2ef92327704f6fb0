// The autograd graph of a tiny Squeeze-and-Excitation block, as Graphviz DOT.
//
// SE computes y = x * sigmoid(fc2(relu(fc1(mean_{H,W}(x))))). In the graph, x is used twice:
// once by the mean (the squeeze, the start of the gate path) and once by the final multiply
// (the identity path). So the node behind x receives two gradients, and the engine sums them:
//   dL/dx = s * dL/dy                      (through the multiply: the identity path)
//         + (1/HW) * broadcast(dL/ds_pre)  (back through the gate and the mean)
// The picture makes both edges visible. docs/blocks.md derives the formulas.
//
// Run: build/example_autograd_graph se.dot      then  dot -Tsvg se.dot -o se.svg
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "autograd/dot.h"
#include "autograd/variable.h"
#include "nn/blocks/se.h"
#include "tensor/random.h"

using namespace cardinal;

namespace {

// The nodes reachable from `t` (iterative walk, the same traversal to_dot does), each with the
// nodes its input gradients flow into. `leaf_names` labels the AccumulateGrad nodes; a node that
// several edges reach gets all those gradients summed before it runs.
void print_graph(const Tensor& t, const std::map<Node*, std::string>& leaf_names) {
    std::map<Node*, int> ids, incoming;
    std::vector<Node*> order, stack;
    Edge root = gradient_edge(t);
    if (!root.valid()) return;
    stack.push_back(root.node.get());
    ids[root.node.get()] = 0;
    while (!stack.empty()) {
        Node* n = stack.back();
        stack.pop_back();
        order.push_back(n);
        for (const Edge& e : n->next_edges) {
            if (!e.valid()) continue;
            ++incoming[e.node.get()];
            if (ids.emplace(e.node.get(), static_cast<int>(ids.size())).second)
                stack.push_back(e.node.get());
        }
    }
    for (Node* n : order) {
        std::string label = n->name();
        if (auto it = leaf_names.find(n); it != leaf_names.end()) label += " (" + it->second + ")";
        if (n->next_edges.empty())
            std::printf("  #%-2d %s", ids[n], label.c_str());
        else
            std::printf("  #%-2d %-30s ->", ids[n], label.c_str());
        bool first = true;
        for (const Edge& e : n->next_edges) {
            if (!e.valid()) continue;
            std::printf("%s#%d", first ? " " : ", ", ids[e.node.get()]);
            first = false;
        }
        if (incoming[n] > 1) std::printf(" <- %d gradients summed here", incoming[n]);
        std::printf("\n");
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT.dot\n", argv[0]);
        return 2;
    }
    Generator gen(3);
    // 8 channels reduced to 2 (rd_ratio 1/4, divisor 2): fc1.weight [2, 8, 1, 1], fc2.weight [8, 2,
    // 1, 1].
    SEModule se(8, 0.25, 2, &gen);
    // The input requires grad too, so its AccumulateGrad node (and its two incoming gradient
    // paths) appears in the graph.
    Tensor x = set_requires_grad(randn({1, 8, 4, 4}, DType::Float32, &gen));
    Tensor y = se.forward(x);

    std::string dot = to_dot(y);
    std::ofstream out(argv[1]);
    out << dot;
    out.close();
    if (!out) {
        std::fprintf(stderr, "autograd_graph: cannot write %s\n", argv[1]);
        return 1;
    }

    std::printf("SE block %s -> %s, %lld parameters\n", describe(x).c_str(), describe(y).c_str(),
                static_cast<long long>(se.num_parameters()));
    // Name each leaf's AccumulateGrad node (it exists while the graph holds it).
    std::map<Node*, std::string> leaf_names{{gradient_edge(x).node.get(), "x, the input"}};
    for (const auto& [name, p] : se.named_parameters())
        leaf_names[gradient_edge(p).node.get()] = name;
    std::printf(
        "backward nodes, in the order found from y (#id name -> where its input gradients go):\n");
    print_graph(y, leaf_names);
    std::printf("\nwrote %s (%zu bytes of Graphviz DOT)\n", argv[1], dot.size());
    std::printf(
        "render it with:   dot -Tsvg %s -o se.svg   (or -Tpng; Debian: apt install graphviz)\n",
        argv[1]);
    std::printf(
        "arrows follow the forward data flow (input -> output); gradients run against them.\n");
    return 0;
}
