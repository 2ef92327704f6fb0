// `cardinal graph`: the autograd graph of one forward, as Graphviz DOT or SVG.
//   cardinal graph --block SEModule --format svg --out se.svg
//   cardinal graph --block SplitAttn --set radix=2 --set groups=2 --values --out splat.dot
//   cardinal graph --model resnest14d --shape 2,3,64,64 --out resnest14d.dot
// --values runs a backward of sum(y) first (keeping the graph) and adds to each node its
// execution index, the norm of the gradient it received and the bytes it saved for backward
// (Node::saved_bytes). Every node shows its output shapes. SVG goes through Graphviz `dot`.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "apps/model_flag.h"
#include "apps/commands.h"
#include "apps/gradcheck_catalog.h"
#include "autograd/dot.h"
#include "autograd/engine.h"
#include "autograd/hooks.h"
#include "autograd/variable.h"
#include "models/infer.h"
#include "models/resnet.h"
#include "tensor/random.h"

namespace cardinal::apps {
namespace {

struct GraphArgs {
    std::string model, config, block, op, shape, format, out;
    std::vector<std::string> sets;
    bool values = false;
    uint64_t seed = 0;
};

Shape parse_dims(const std::string& text) {
    Shape shape;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        const std::string part = text.substr(start, comma - start);
        char* end = nullptr;
        const long long v = std::strtoll(part.c_str(), &end, 10);
        if (part.empty() || *end != '\0' || v < 1)
            throw UsageError("--shape " + text +
                             ": expected positive integers separated by commas, such as 1,3,64,64");
        shape.push_back(v);
        start = comma + 1;
    }
    return shape;
}

// "512 B", "12.3 KiB", "4.5 MiB": exact below 10 KiB, where a learner can check it against the
// shapes (float64 [2, 8, 4, 4] = 256 elements = 2048 B).
std::string bytes_text(size_t bytes) {
    char buf[32];
    if (bytes < 10 * 1024)
        std::snprintf(buf, sizeof buf, "%zu B", bytes);
    else if (bytes < 10 * 1024 * 1024)
        std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
    else
        std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024.0));
    return buf;
}

bool have_dot() { return std::system("command -v dot >/dev/null 2>&1") == 0; }

// Writes `text` to `path` through a temporary name (nothing half-written).
void write_atomically(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary);
        out << text;
        out.flush();
        if (!out) fail<Error>("graph: cannot write ", tmp);
    }
    std::filesystem::rename(tmp, path);
}

void run(const GraphArgs& a) {
    const int sources = !a.model.empty() + !a.config.empty() + !a.block.empty() + !a.op.empty();
    if (sources != 1) throw UsageError("give exactly one of --model, --config, --block or --op");
    std::string format = a.format;
    if (format.empty()) format = a.out.size() > 4 && a.out.ends_with(".svg") ? "svg" : "dot";
    if (format != "dot" && format != "svg")
        throw UsageError("--format must be dot or svg, got '" + format + "'");
    if (!a.sets.empty() && (!a.model.empty() || !a.config.empty()))
        throw UsageError(
            "--set applies to --block and --op (a model's options come from --config)");
    if (format == "svg" && !have_dot())
        fail<Error>(
            "graph: --format svg needs Graphviz's `dot`, which is not on PATH (Debian: apt-get "
            "install "
            "graphviz); --format dot writes the DOT text instead");

    // One forward, recorded.
    Tensor y;
    std::shared_ptr<Module> keep;
    GradcheckCase c;
    if (!a.block.empty() || !a.op.empty()) {
        const CatalogEntry& e = !a.op.empty() ? find_entry(gradcheck_ops(), a.op, "op")
                                              : find_entry(gradcheck_blocks(), a.block, "block");
        Settings settings(e.name, e.options, a.sets);
        try {
            c = e.build(settings, a.shape.empty() ? e.default_shape : parse_dims(a.shape), false,
                        a.seed);
            y = c.forward();
        } catch (const UsageError&) {
            throw;
        } catch (const ValueError& err) {
            throw UsageError(e.name + " with these options: " + err.what());
        } catch (const ShapeError& err) {
            throw UsageError(e.name + " with these options: " + err.what());
        }
    } else {
        Generator gen(a.seed);
        const ResNetConfig cfg =
            !a.model.empty() ? model_flag(a.model).config : load_config_file(a.config);
        auto model = std::make_shared<ResNet>(cfg, &gen);
        model->train();
        keep = model;
        const Shape shape = a.shape.empty() ? Shape{2, cfg.in_chans, 64, 64} : parse_dims(a.shape);
        if (shape.size() != 4 || shape[1] != cfg.in_chans)
            throw UsageError("--shape for this model must be N," + std::to_string(cfg.in_chans) +
                             ",H,W");
        Tensor x = set_requires_grad(randn(shape, DType::Float32, &gen));
        y = model->forward(x);
    }

    // Leaves by name: the AccumulateGrad node of every input and parameter.
    std::map<const Node*, std::string> leaf_names;
    NamedTensors leaves =
        keep ? keep->named_parameters() : NamedTensors(c.tensors.begin(), c.tensors.end());
    for (const auto& [name, t] : leaves)
        if (Edge e = gradient_edge(t); e.valid()) leaf_names[e.node.get()] = name;

    std::map<const Node*, std::pair<int64_t, double>> seen;  // execution index, |received gradient|
    if (a.values) {
        BackwardObserver watch([&](const BackwardEvent& e) {
            double s = 0;
            for (const Tensor& g : e.grad_outputs)
                for (double v : g.contiguous().to_vector()) s += v * v;
            seen[&e.node] = {e.index, std::sqrt(s)};
        });
        backward(y, ones(y.shape(), y.dtype()), /*retain_graph=*/true);
    }
    const std::string dot = to_dot(y, [&](const Node& n) -> std::string {
        std::string label;
        if (auto leaf = leaf_names.find(&n); leaf != leaf_names.end()) label = leaf->second;
        auto it = seen.find(&n);
        if (it == seen.end()) return label;
        char buf[96];
        std::snprintf(buf, sizeof buf, "#%lld  |grad| %.4g",
                      static_cast<long long>(it->second.first), it->second.second);
        std::string values = buf;
        if (leaf_names.count(&n) == 0 && n.name() != "AccumulateGrad")  // leaves save nothing
            values += "\\nsaved " + bytes_text(n.saved_bytes());
        return label.empty() ? values : label + "\\n" + values;
    });

    if (format == "dot") {
        if (a.out.empty())
            std::fputs(dot.c_str(), stdout);
        else
            write_atomically(a.out, dot);
        return;
    }
    const std::string out = a.out.empty() ? "graph.svg" : a.out;
    const std::string dot_path = out + ".dot.tmp", svg_tmp = out + ".tmp";
    write_atomically(dot_path, dot);
    const std::string cmd = "dot -Tsvg '" + dot_path + "' -o '" + svg_tmp + "'";
    const int rc = std::system(cmd.c_str());
    std::filesystem::remove(dot_path);
    if (rc != 0) {
        std::filesystem::remove(svg_tmp);
        fail<Error>("graph: Graphviz `dot` failed (exit ", rc, ") rendering ", out);
    }
    std::filesystem::rename(svg_tmp, out);
    std::fprintf(stderr, "wrote %s\n", out.c_str());
}

}  // namespace

void add_graph_command(CLI::App& app) {
    auto a = std::make_shared<GraphArgs>();
    auto* cmd =
        app.add_subcommand("graph", "The autograd graph of one forward, as Graphviz DOT or SVG");
    cmd->add_option("--model", a->model, "A registered model (cardinal models)");
    cmd->add_option("--config", a->config,
                    "A model config file (JSON, the --config format of train)");
    cmd->add_option("--block", a->block, "A block (cardinal gradcheck --list)");
    cmd->add_option("--op", a->op, "An op (cardinal gradcheck --list)");
    cmd->add_option("--set", a->sets, "An option of the block or op, key=value (repeatable)");
    cmd->add_option("--shape", a->shape,
                    "The input shape (default: the entry's; models 2,C,64,64)");
    cmd->add_option("--format", a->format, "dot or svg (default: svg when --out ends in .svg)");
    cmd->add_flag("--values", a->values,
                  "Run a backward first: label nodes with execution index, |grad| and saved bytes");
    cmd->add_option("--out", a->out, "Output file (default: DOT to stdout, SVG to graph.svg)");
    cmd->add_option("--seed", a->seed, "Seed of the weights and the input");
    cmd->callback([a] { run(*a); });
}

}  // namespace cardinal::apps
