// `cardinal gradcheck`: float64 gradient check of any op or block from the command line.
//   cardinal gradcheck --op conv2d --set groups=2 --set stride=2 --shape 2,4,7,7
//   cardinal gradcheck --block SplitAttn --set radix=2 --set groups=2 --eval
//   cardinal gradcheck --list
// Prints, per checked tensor, the largest absolute and relative error and the worst element;
// exits 1 on a mismatch, 2 on a usage error.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "apps/commands.h"
#include "apps/gradcheck_catalog.h"
#include "autograd/grad_mode.h"
#include "autograd/variable.h"

namespace cardinal::apps {
namespace {

struct GradcheckArgs {
    std::string op, block, shape;
    std::vector<std::string> sets;
    bool eval = false, fast = false, full = false, list = false;
    uint64_t seed = 0;
};

Shape parse_shape(const std::string& text) {
    Shape shape;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        const std::string part = text.substr(start, comma - start);
        char* end = nullptr;
        const long long v = std::strtoll(part.c_str(), &end, 10);
        if (part.empty() || *end != '\0' || v < 1)
            throw UsageError("--shape " + text +
                             ": expected positive integers separated by commas, such as 2,4,5,5");
        shape.push_back(v);
        start = comma + 1;
    }
    return shape;
}

void print_entries(const char* title, const std::vector<CatalogEntry>& entries, bool broken) {
    std::printf("%s\n", title);
    for (const CatalogEntry& e : entries) {
        if (e.deliberately_broken != broken) continue;
        std::printf("  %-26s %s\n", e.name.c_str(), e.summary.c_str());
        std::string dims;
        for (int64_t d : e.default_shape) dims += (dims.empty() ? "" : ",") + std::to_string(d);
        std::printf("  %-26s default --shape %s, %s\n", "", dims.c_str(),
                    e.fast_by_default ? "--fast by default" : "--full by default");
        for (const CatalogOption& o : e.options) {
            const std::string kv = o.key + "=" + o.default_value;
            std::printf("  %-26s   --set %-24s %s\n", "", kv.c_str(), o.help.c_str());
        }
    }
}

void print_list() {
    std::printf(
        "cardinal gradcheck: every entry, its options (--set key=value) and their defaults.\n"
        "--eval uses BatchNorm running statistics (random, away from 0 and 1) instead of the "
        "batch's.\n\n");
    print_entries("ops (--op NAME):", gradcheck_ops(), false);
    std::printf("\n");
    print_entries("blocks (--block NAME; seed.* are the seed notes' forms):", gradcheck_blocks(),
                  false);
    std::printf("\n");
    print_entries(
        "deliberately broken (--op NAME; must FAIL, to see what a wrong backward looks like):",
        gradcheck_ops(), true);
}

int run(const GradcheckArgs& a) {
    if (a.list) {
        if (!a.op.empty() || !a.block.empty()) throw UsageError("--list takes no --op or --block");
        print_list();
        return 0;
    }
    if (a.op.empty() == a.block.empty())
        throw UsageError("give exactly one of --op NAME or --block NAME (see --list)");
    if (a.fast && a.full) throw UsageError("--fast and --full exclude each other");
    const bool is_op = !a.op.empty();
    const CatalogEntry& entry = is_op ? find_entry(gradcheck_ops(), a.op, "op")
                                      : find_entry(gradcheck_blocks(), a.block, "block");
    const Shape shape = a.shape.empty() ? entry.default_shape : parse_shape(a.shape);
    const bool fast = a.fast || (entry.fast_by_default && !a.full);
    CatalogRun r = run_catalog_entry(entry, a.sets, shape, a.eval, fast, a.seed);

    std::printf("gradcheck %s %s  --shape %s  %s, float64, %s mode, seed %llu\n",
                is_op ? "--op" : "--block", r.entry.c_str(), shape_str(r.shape).c_str(),
                fast ? "fast (random directions)" : "full (every element)",
                r.eval ? "eval" : "train", static_cast<unsigned long long>(r.seed));
    if (!r.settings.empty()) std::printf("  options: %s\n", r.settings.c_str());
    if (!r.note.empty()) std::printf("  %s\n", r.note.c_str());
    std::printf("  %-34s %-16s %8s %12s %12s  %s\n", "tensor", "shape", "compared", "max abs err",
                "max rel err", "worst (numeric vs analytic)");
    int failed = 0;
    for (size_t i = 0; i < r.tensors.size(); ++i) {
        const GradcheckInputStats& st = r.result.inputs.at(i);
        failed += st.ok() ? 0 : 1;
        std::printf("  %-34s %-16s %8lld %12.3e %12.3e  %s: %.9g vs %.9g%s\n",
                    r.tensors[i].first.c_str(), shape_str(r.tensors[i].second.shape()).c_str(),
                    static_cast<long long>(st.compared), st.max_abs_error, st.max_rel_error,
                    st.worst.c_str(), st.worst_numeric, st.worst_analytic,
                    st.ok() ? "" : "  MISMATCH");
    }
    GradcheckOptions tol;
    if (failed == 0) {
        std::printf(
            "PASS: %zu tensors (atol %g, rtol %g: |numeric - analytic| <= atol + rtol |numeric|)\n",
            r.tensors.size(), tol.atol, tol.rtol);
        return 0;
    }
    std::printf("FAIL: %d of %zu tensors mismatch; first: %s\n", failed, r.tensors.size(),
                r.result.message.c_str());
    if (fast)
        std::printf(
            "(in fast mode one failing direction can also be a ReLU or max input within eps of its "
            "kink:\n"
            " if --full and other --seed values pass, it was that)\n");
    return 1;
}

}  // namespace

const CatalogEntry& find_entry(const std::vector<CatalogEntry>& entries, const std::string& name,
                               const std::string& kind) {
    for (const CatalogEntry& e : entries)
        if (e.name == name) return e;
    throw UsageError("unknown " + kind + " '" + name +
                     "' (cardinal gradcheck --list shows them all)");
}

CatalogRun run_catalog_entry(const CatalogEntry& entry, const std::vector<std::string>& assignments,
                             const Shape& shape, bool eval, bool fast, uint64_t seed) {
    Settings settings(entry.name, entry.options, assignments);
    CatalogRun r{entry.name, settings.summary(), shape, eval, fast, seed};
    GradcheckCase c;
    try {
        c = entry.build(settings, shape, eval, seed);
        NoGradGuard no_grad;
        c.forward();  // the op's or block's own shape checks, before any gradient is taken
    } catch (const UsageError&) {
        throw;
    } catch (const ShapeError& e) {
        throw UsageError(entry.name + " with these options: " + e.what());
    } catch (const ValueError& e) {
        throw UsageError(entry.name + " with these options: " + e.what());
    }
    r.tensors = c.tensors;
    r.note = c.note;
    std::vector<Tensor> inputs;
    for (const auto& [name, t] : c.tensors) inputs.push_back(t);
    GradcheckOptions opt;
    opt.fast_mode = fast;
    opt.seed = seed + 1234;
    std::function<Tensor()> forward = c.forward;
    r.result = gradcheck([forward](const std::vector<Tensor>&) { return forward(); }, inputs, opt);
    return r;
}

void add_gradcheck_command(CLI::App& app) {
    auto a = std::make_shared<GradcheckArgs>();
    auto* cmd =
        app.add_subcommand("gradcheck", "Float64 gradient check of any op or block (see --list)");
    cmd->add_option("--op", a->op, "An op to check (see --list)");
    cmd->add_option("--block", a->block, "A block to check (see --list)");
    cmd->add_option("--set", a->sets, "An option of the op or block, key=value (repeatable)");
    cmd->add_option("--shape", a->shape, "The input shape, e.g. 2,4,5,5 (default: the entry's)");
    cmd->add_flag("--eval", a->eval,
                  "BatchNorm from running statistics (default: batch statistics)");
    cmd->add_flag("--fast", a->fast, "A few random directions per tensor (default for blocks)");
    cmd->add_flag("--full", a->full, "Every element of every tensor (default for ops)");
    cmd->add_option("--seed", a->seed, "Seed of the inputs, weights, masks and cotangents");
    cmd->add_flag("--list", a->list, "List every op and block with its options and defaults");
    cmd->callback([a] {
        const int code = run(*a);
        if (code != 0) throw ExitCode{code};  // braces: clang 14 has no parenthesised aggregate init
    });
}

}  // namespace cardinal::apps
