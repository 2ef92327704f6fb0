// Write a new op with its backward, then gradcheck it: the whole recipe in one file.
//
// The op: swish(x) = x * sigmoid(x) (also called SiLU), elementwise.
//   forward:   s = sigmoid(x),  y = x * s
//   backward:  dy/dx = s + x * s * (1 - s),  so  dL/dx = g * (s + x s (1 - s))   (g = dL/dy)
// Steps (the same as every op in ops/): compute the value without recording, make a node
// with make_node (null when no input needs a gradient), save what backward needs, record.
// Then gradcheck compares the backward with central differences, element by element.
//
// Run: build/example_gradcheck_custom_op
#include <cstdio>

#include "autograd/function.h"
#include "autograd/gradcheck.h"
#include "ops/ops.h"
#include "tensor/kernels.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "walkthrough.h"

using namespace cardinal;

namespace {

// ---- 1. the backward node: named saved tensors, apply, release, saved_bytes --------------
struct SwishBackward : Node {
    Tensor saved_x_, saved_s_;         // the input and sigmoid(input)
    bool forget_second_term_ = false;  // the bug of part 3
    std::string name() const override { return "SwishBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
        const Tensor& g = grads[0];
        // dy/dx = s + x s (1 - s)
        Tensor one_minus_s = kernels::add_scalar(kernels::mul_scalar(saved_s_, -1.0), 1.0);
        Tensor second = kernels::mul(saved_x_, kernels::mul(saved_s_, one_minus_s));
        Tensor dydx = forget_second_term_ ? saved_s_ : kernels::add(saved_s_, second);
        return {kernels::mul(g, dydx)};
    }
    void release() override { saved_x_ = saved_s_ = Tensor(); }
    // What release() frees, shown by `cardinal graph --values` (optional: 0 by default).
    size_t saved_bytes() const override {
        return saved_bytes_of(saved_x_) + saved_bytes_of(saved_s_);
    }
};

// ---- 2. the forward: value first, then the node -------------------------------------------
Tensor swish(const Tensor& x, bool with_bug = false) {
    Tensor s = kernels::sigmoid(x);
    Tensor y = kernels::mul(x, s);
    if (auto node = make_node<SwishBackward>({x})) {
        node->saved_x_ = node->save(x);
        node->saved_s_ = node->save(s);
        node->forget_second_term_ = with_bug;
        record(node, {y});
    }
    return y;
}

void report(const char* title, const GradcheckResult& r) {
    std::printf("%s: %s\n", title, r.ok ? "PASS" : "FAIL");
    for (const GradcheckInputStats& st : r.inputs)
        std::printf("  input %zu: %lld comparisons, %lld mismatches, max abs error %s, worst %s\n",
                    st.input, static_cast<long long>(st.compared),
                    static_cast<long long>(st.mismatches),
                    walkthrough::error_size(st.max_abs_error).c_str(), st.worst.c_str());
    if (!r.ok) std::printf("  %s\n", r.message.c_str());
}

}  // namespace

int main() {
    set_num_threads(1);
    Generator gen(60);
    Tensor x = set_requires_grad(randn({2, 3, 4}, DType::Float64, &gen));

    // ---- 3. gradcheck: float64, every element, two random cotangents ----------------------
    GradcheckResult good =
        gradcheck([](const std::vector<Tensor>& in) { return swish(in[0]); }, {x});
    report("swish, the backward above", good);

    // The same op used inside a bigger expression: gradcheck sees the composition.
    Tensor w = set_requires_grad(randn({4}, DType::Float64, &gen));
    GradcheckResult composed = gradcheck(
        [](const std::vector<Tensor>& in) { return sum(swish(in[0] * in[1]), {2}); }, {x, w});
    report("sum(swish(x * w)), two inputs", composed);

    // A backward that forgets the x s (1 - s) term: gradcheck names the input and the element.
    GradcheckResult bad =
        gradcheck([](const std::vector<Tensor>& in) { return swish(in[0], true); }, {x});
    report("swish with dy/dx = s only (a bug)", bad);

    const bool as_expected = good.ok && composed.ok && !bad.ok;
    std::printf("\n%s\n", as_expected ? "the correct backward passes and the bug is caught"
                                      : "UNEXPECTED RESULT");
    return as_expected ? 0 : 1;
}
