#include "autograd/hooks.h"

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "autograd/variable.h"
#include "tensor/kernels.h"

namespace cardinal {
namespace {

thread_local BackwardObserver* current_observer = nullptr;

// A hook's replacement must fit where the original gradient goes.
Tensor checked_replacement(Tensor replacement, Tensor original, const std::string& where) {
    if (!replacement.defined()) return original;
    check<ShapeError>(
        replacement.shape() == original.shape() && replacement.dtype() == original.dtype(),
        "register_hook: the hook on ", where, " returned ", describe(replacement),
        " but the gradient is ", describe(original));
    return replacement;
}

}  // namespace

void retain_grad(const Tensor& t) {
    check<AutogradError>(t.defined() && requires_grad(t),
                         "retain_grad: the tensor does not require grad (",
                         t.defined() ? describe(t) : std::string("undefined"), ")");
    AutogradMeta* m = autograd_meta(t);
    if (!m->grad_fn) return;  // a leaf keeps its gradient anyway
    if (!m->grad_fn->hooks) m->grad_fn->hooks = std::make_shared<NodeHooks>();
    for (const NodeHooks::Retained& r : m->grad_fn->hooks->retained)
        if (r.slot == m->output_nr && r.tensor.lock() == t.impl_ptr()) return;  // already retained
    m->grad_fn->hooks->retained.push_back({m->output_nr, t.impl_ptr()});
}

bool retains_grad(const Tensor& t) {
    AutogradMeta* m = autograd_meta(t);
    if (!m) return false;
    if (!m->grad_fn) return m->requires_grad;
    if (!m->grad_fn->hooks) return false;
    for (const NodeHooks::Retained& r : m->grad_fn->hooks->retained)
        if (r.slot == m->output_nr && r.tensor.lock() == t.impl_ptr()) return true;
    return false;
}

void register_hook(const Tensor& t, GradHook fn) {
    check<AutogradError>(t.defined() && requires_grad(t),
                         "register_hook: the tensor does not require grad (",
                         t.defined() ? describe(t) : std::string("undefined"), ")");
    check<ValueError>(static_cast<bool>(fn), "register_hook: empty function");
    AutogradMeta* m = autograd_meta(t);
    if (!m->grad_fn) {
        m->leaf_hooks.push_back(std::move(fn));
        return;
    }
    if (!m->grad_fn->hooks) m->grad_fn->hooks = std::make_shared<NodeHooks>();
    m->grad_fn->hooks->hooks.push_back({m->output_nr, std::move(fn)});
}

namespace {

// Post-accumulate hooks live in a side table rather than in AutogradMeta: only data-parallel
// training uses them, and a leaf's entry is found again only while the same tensor is alive
// (the weak pointer guards against a freed leaf's address being reused).
struct PostAccumulateEntry {
    std::weak_ptr<TensorImpl> leaf;
    std::vector<std::function<void(const Tensor&)>> fns;
};
std::mutex post_accumulate_mutex;
std::unordered_map<const TensorImpl*, PostAccumulateEntry> post_accumulate_table;
std::atomic<bool> post_accumulate_any{false};  // the engine's fast path: no table lookup

}  // namespace

void register_post_accumulate_hook(const Tensor& leaf, std::function<void(const Tensor&)> fn) {
    check<AutogradError>(leaf.defined() && requires_grad(leaf) && is_leaf(leaf),
                         "register_post_accumulate_hook: expected a leaf that requires grad, got ",
                         leaf.defined() ? describe(leaf) : std::string("undefined"),
                         leaf.defined() && !is_leaf(leaf) ? " (not a leaf)" : "");
    check<ValueError>(static_cast<bool>(fn), "register_post_accumulate_hook: empty function");
    std::lock_guard<std::mutex> lock(post_accumulate_mutex);
    PostAccumulateEntry& e = post_accumulate_table[leaf.unsafe_impl()];
    if (e.leaf.lock() != leaf.impl_ptr()) e = {leaf.impl_ptr(), {}};  // a stale entry of a freed tensor
    e.fns.push_back(std::move(fn));
    post_accumulate_any = true;
}

void clear_post_accumulate_hooks(const Tensor& leaf) {
    std::lock_guard<std::mutex> lock(post_accumulate_mutex);
    post_accumulate_table.erase(leaf.unsafe_impl());
    post_accumulate_any = !post_accumulate_table.empty();
}

void run_post_accumulate_hooks(const Tensor& leaf) {
    if (!post_accumulate_any) return;
    std::vector<std::function<void(const Tensor&)>> fns;
    {
        std::lock_guard<std::mutex> lock(post_accumulate_mutex);
        auto it = post_accumulate_table.find(leaf.unsafe_impl());
        if (it == post_accumulate_table.end() || it->second.leaf.lock() != leaf.impl_ptr()) return;
        fns = it->second.fns;  // a copy: a hook may register or clear hooks
    }
    for (const auto& fn : fns) fn(leaf);
}

void run_node_hooks(const Node& node, std::vector<Tensor>& grad_outputs) {
    for (const NodeHooks::SlotHook& h : node.hooks->hooks) {
        Tensor& g = grad_outputs.at(h.slot);
        g = checked_replacement(h.fn(g), g,
                                "output " + std::to_string(h.slot) + " of " + node.name());
    }
    for (const NodeHooks::Retained& r : node.hooks->retained) {
        std::shared_ptr<TensorImpl> impl = r.tensor.lock();
        if (!impl) continue;  // the tensor is gone: nobody can read its gradient
        Tensor t(impl);
        AutogradMeta& m = ensure_autograd_meta(t);
        // A copy: the engine may add into this buffer later (another backward, another path).
        const Tensor& g = grad_outputs[r.slot];
        m.grad = m.grad.defined() ? kernels::add(m.grad, g) : g.clone();
    }
}

Tensor run_leaf_hooks(const Tensor& leaf, Tensor grad) {
    for (const GradHook& fn : autograd_meta(leaf)->leaf_hooks)
        grad = checked_replacement(fn(grad), grad, "a leaf " + describe(leaf));
    return grad;
}

BackwardObserver::BackwardObserver(std::function<void(const BackwardEvent&)> fn)
    : fn_(std::move(fn)), prev_(current_observer) {
    current_observer = this;
}

BackwardObserver::~BackwardObserver() { current_observer = prev_; }

BackwardObserver* BackwardObserver::current() { return current_observer; }

}  // namespace cardinal
