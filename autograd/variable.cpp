#include "autograd/variable.h"

#include <mutex>

#include "autograd/accumulate_grad.h"

namespace cardinal {

AutogradMeta* autograd_meta(const Tensor& t) {
    if (!t.defined()) return nullptr;
    return static_cast<AutogradMeta*>(t.unsafe_impl()->autograd.get());
}

AutogradMeta& ensure_autograd_meta(const Tensor& t) {
    check<Error>(t.defined(), "autograd: use of an undefined tensor");
    auto& slot = t.unsafe_impl()->autograd;
    if (!slot) slot = std::make_unique<AutogradMeta>();
    return *static_cast<AutogradMeta*>(slot.get());
}

bool requires_grad(const Tensor& t) {
    AutogradMeta* m = autograd_meta(t);
    return m && (m->requires_grad || m->grad_fn);
}

const Tensor& set_requires_grad(const Tensor& t, bool value) {
    AutogradMeta* m = autograd_meta(t);
    check<AutogradError>(!(m && m->grad_fn), "set_requires_grad: only leaf tensors can be changed; ",
                         "this tensor was produced by ", m && m->grad_fn ? m->grad_fn->name() : "",
                         " (use detach() first)");
    check<DTypeError>(!value || is_floating(t.dtype()),
                      "set_requires_grad: only floating tensors can require gradients, got ",
                      describe(t));
    if (value || m) ensure_autograd_meta(t).requires_grad = value;
    return t;
}

bool is_leaf(const Tensor& t) {
    AutogradMeta* m = autograd_meta(t);
    return !m || !m->grad_fn;
}

std::shared_ptr<Node> grad_fn(const Tensor& t) {
    AutogradMeta* m = autograd_meta(t);
    return m ? m->grad_fn : nullptr;
}

Tensor grad(const Tensor& t) {
    AutogradMeta* m = autograd_meta(t);
    return m ? m->grad : Tensor();
}

void set_grad(const Tensor& t, const Tensor& g) {
    if (g.defined())
        check<ShapeError>(g.shape() == t.shape() && g.dtype() == t.dtype(), "set_grad: gradient ",
                          describe(g), " does not match tensor ", describe(t));
    ensure_autograd_meta(t).grad = g;
}

void zero_grad(const Tensor& t) {
    if (AutogradMeta* m = autograd_meta(t)) m->grad = Tensor();
}

Tensor detach(const Tensor& t) { return t.alias(); }

Edge gradient_edge(const Tensor& t) {
    AutogradMeta* m = autograd_meta(t);
    if (!m) return {};
    if (m->grad_fn) return {m->grad_fn, m->output_nr};
    if (!m->requires_grad) return {};
    // Threads recording forwards on one shared model (each its own graph) reach the same
    // parameters at once: the accumulator slot is shared state, so it is read and set under a
    // lock (one per process; taken once per parameter per forward, never in inference).
    static std::mutex accumulator_mutex;
    std::lock_guard<std::mutex> lock(accumulator_mutex);
    std::shared_ptr<Node> acc = m->grad_accumulator.lock();
    if (!acc) {
        auto a = std::make_shared<AccumulateGrad>(t);
        a->output_meta = {{t.shape(), t.dtype()}};
        acc = a;
        m->grad_accumulator = acc;
    }
    return {acc, 0};
}

}  // namespace cardinal
