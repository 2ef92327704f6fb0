// Gradient checking whole attention blocks, and watching it catch a wrong backward.
//
// gradcheck (autograd/gradcheck.h) compares two numbers for each input element x_j:
//   numeric:  (L(x + eps e_j) - L(x - eps e_j)) / (2 eps)     two forwards, float64
//   analytic: dL/dx_j from one backward through the recorded graph
// with L = <v, f(x)> for a random cotangent v. Blocks are compositions of ops, so their
// backward is whatever the engine assembles from each op's node: if any node is wrong, the two
// numbers disagree at some element and gradcheck names it.
//
// Run: build/example_gradcheck_block
#include <cstdio>
#include <functional>
#include <string>

#include "autograd/function.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "nn/blocks/blocks.h"
#include "ops/ops.h"
#include "tensor/kernels.h"
#include "tensor/random.h"
#include "walkthrough.h"  // error_size, single_thread

using namespace cardinal;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// One line per checked tensor: how many comparisons, the largest absolute and relative errors
// (as powers of ten, so the printout does not depend on the last bit) and the verdict.
void print_stats(const std::string& name, const Tensor& t, const GradcheckInputStats& st) {
    std::printf("  %-16s %-21s %3lld compared  max abs err %-8s  max rel err %-8s  %s\n",
                name.c_str(), describe(t).c_str(), static_cast<long long>(st.compared),
                walkthrough::error_size(st.max_abs_error).c_str(),
                walkthrough::error_size(st.max_rel_error).c_str(), st.ok() ? "ok" : "FAIL");
}

// Module::to converts parameters and buffers in place; train mode makes BatchNorm use the batch
// statistics, a deterministic function of the input (the running stats it updates are not read).
void prepare(Module& m) {
    m.to(DType::Float64);
    m.train();
}

// Gradcheck of d(out)/d(input), then of d(out)/d(param) for every parameter tensor, one at a
// time. Parameters are leaves that already require grad; gradcheck perturbs the tensor it is
// given in place, so passing the parameter handle itself checks that parameter.
bool check_module(const std::string& title, Module& m, const Tensor& x) {
    GradcheckOptions opt;
    opt.fast_mode = true;  // a few random directions per tensor instead of every element
    opt.fast_directions = 3;
    std::printf("%s: %lld parameters\n", title.c_str(), static_cast<long long>(m.num_parameters()));

    Fn run = [&](const std::vector<Tensor>&) { return m.forward(x); };
    set_requires_grad(x, true);
    GradcheckResult r = gradcheck(run, {x}, opt);
    set_requires_grad(x, false);
    print_stats("input", x, r.inputs.at(0));
    bool all_ok = r.ok;
    for (const auto& [name, p] : m.named_parameters()) {
        r = gradcheck(run, {p}, opt);
        print_stats(name, p, r.inputs.at(0));
        if (!r.ok) std::printf("    %s\n", r.message.c_str());
        all_ok = all_ok && r.ok;
    }
    return all_ok;
}

// ---- a deliberately broken op ------------------------------------------------------------
// sigmoid with the wrong derivative: y * (1 + y) instead of y * (1 - y). Built exactly like
// the real ops in ops/activation.cpp (forward, then make_node / save / record), so the engine
// has no way to tell it is wrong; only the numbers can.
struct BrokenSigmoidBackward : Node {
    Tensor saved_y_;
    std::string name() const override { return "BrokenSigmoidBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        Tensor one_plus_y = kernels::add_scalar(saved_y_, 1.0);  // the bug: should be 1 - y
        return {kernels::mul(g[0], kernels::mul(saved_y_, one_plus_y))};
    }
    void release() override { saved_y_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_y_); }
};

Tensor broken_sigmoid(const Tensor& x) {
    Tensor y;
    {
        NoGradGuard no_grad;  // compute the value with the real op, without recording it
        y = sigmoid(x);
    }
    if (auto node = make_node<BrokenSigmoidBackward>({x})) {
        node->saved_y_ = node->save(y);
        record(node, {y});
    }
    return y;
}

// An SE gate written out with ops, y = x * gate(mean(x)), gate = gate_fn(fc2(relu(fc1(.)))).
Tensor se_by_hand(const Tensor& x, const Tensor& w1, const Tensor& b1, const Tensor& w2,
                  const Tensor& b2, Tensor (*gate_fn)(const Tensor&)) {
    Tensor s = mean(x, {2, 3}, true);                       // [N, C, 1, 1]
    Tensor z = relu(conv2d(s, w1, b1, Conv2dParams{}));     // [N, rd, 1, 1]
    Tensor g = gate_fn(conv2d(z, w2, b2, Conv2dParams{}));  // [N, C, 1, 1]
    return x * g;                                           // broadcast over H, W
}

}  // namespace

int main() {
    walkthrough::single_thread();  // the same sums in the same order on every machine
    Generator gen(7);
    bool ok = true;

    // 1. An SE-ResNeXt bottleneck: 1x1 -> grouped 3x3 (cardinality 4) -> 1x1 -> SE, identity
    //    shortcut. inplanes = planes * 4 so the shortcut needs no projection.
    std::printf("== 1. SE-ResNeXt Bottleneck (cardinality 4, SE), float64, train mode\n");
    Bottleneck block(BottleneckConfig{.inplanes = 32,
                                      .planes = 8,
                                      .cardinality = 4,
                                      .base_width = 16,
                                      .attn = {"se", 0.25, 4},
                                      .gen = &gen});
    prepare(block);
    Tensor xb = randn({2, 32, 5, 5}, DType::Float64, &gen);
    ok = check_module("Bottleneck", block, xb) && ok;

    // 2. Split attention, radix 2, cardinality 2: the rSoftMax reorders fc2's channels, and a
    //    wrong permutation in backward would show up here.
    std::printf("\n== 2. SplitAttn (radix 2, cardinality 2), float64, train mode\n");
    SplitAttn splat(SplitAttnConfig{.in_channels = 8,
                                    .out_channels = 8,
                                    .groups = 2,
                                    .radix = 2,
                                    .rd_channels = 4,
                                    .gen = &gen});
    prepare(splat);
    Tensor xs = randn({3, 8, 4, 4}, DType::Float64, &gen);
    ok = check_module("SplitAttn", splat, xs) && ok;

    // 3. The same SE gate written by hand twice: with the real sigmoid, and with a sigmoid
    //    whose backward is wrong. Full mode: every element of every input is perturbed.
    std::printf("\n== 3. SE by hand: the real sigmoid vs a broken backward\n");
    const int64_t C = 8, rd = 4;
    std::vector<Tensor> inputs = {
        randn({2, C, 3, 3}, DType::Float64, &gen), randn({rd, C, 1, 1}, DType::Float64, &gen),
        randn({rd}, DType::Float64, &gen), randn({C, rd, 1, 1}, DType::Float64, &gen),
        randn({C}, DType::Float64, &gen)};
    for (const Tensor& t : inputs) set_requires_grad(t, true);
    auto with = [](Tensor (*gate_fn)(const Tensor&)) -> Fn {
        return [gate_fn](const std::vector<Tensor>& in) {
            return se_by_hand(in[0], in[1], in[2], in[3], in[4], gate_fn);
        };
    };
    GradcheckResult good = gradcheck(with(sigmoid), inputs);
    GradcheckResult bad = gradcheck(with(broken_sigmoid), inputs);
    const char* names[] = {"x", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};
    std::printf("  real sigmoid:\n");
    for (size_t i = 0; i < good.inputs.size(); ++i)
        print_stats(names[i], inputs[i], good.inputs[i]);
    std::printf("  broken sigmoid:\n");
    for (size_t i = 0; i < bad.inputs.size(); ++i) print_stats(names[i], inputs[i], bad.inputs[i]);
    std::printf("  first mismatch: %s\n", bad.message.c_str());
    bool caught = good.ok && !bad.ok;
    std::printf("  the broken backward was %s\n", caught ? "caught" : "NOT caught");

    std::printf("\n%s\n", ok && caught ? "all as expected" : "UNEXPECTED RESULT");
    return ok && caught ? 0 : 1;
}
