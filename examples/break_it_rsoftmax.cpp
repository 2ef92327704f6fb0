// Two ways to get Split Attention's rSoftMax wrong, and which check catches each.
//
// fc2 gives a [N, K*R*C/K] vector of logits, cardinality-major: logit (group k, split r, j)
// is channel (k*R + r)*C/K + j. rSoftMax (nn/blocks/split_attn.cpp) reads it as [N, K, R, C/K],
// transposes to [N, R, K, C/K], takes the softmax over r and writes the weights radix-major
// (split r, channel c = k*C/K + j at r*C + c), as timm does.
//
// Break it 1: a hand-written rSoftMax node whose backward forgets to undo the transpose (it
//   writes the gradient of (r, k, j) back at the radix-major position). The forward is right,
//   the backward is not: gradcheck catches it, but only when K > 1 and R > 1 (with K = 1 the
//   two layouts coincide and the bug is invisible: test with both > 1).
// Break it 2: the plain view a.view(N, R, C), the reading of the early ResNeSt code in the seed
//   notes. It is a different function with a correct backward: gradcheck PASSES. Only the
//   reference fixture (timm's output for the same weights and input) shows it is not timm's
//   Split Attention.
//
// Run: build/example_break_it_rsoftmax tests/data/mod_splitattn_r2g2.safetensors
#include <cstdio>

#include "autograd/function.h"
#include "autograd/gradcheck.h"
#include "io/safetensors.h"
#include "ops/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "walkthrough.h"

using namespace cardinal;

namespace {

// The positions of logit (n, k, r, j) in fc2's output and of its weight in rSoftMax's output.
struct Layout {
    int64_t N, K, R, Cg;
    int64_t logit(int64_t n, int64_t k, int64_t r, int64_t j) const {
        return ((n * K + k) * R + r) * Cg + j;
    }
    int64_t weight(int64_t n, int64_t k, int64_t r, int64_t j) const {
        return (n * R + r) * K * Cg + k * Cg + j;
    }
};

struct RSoftmaxBackward : Node {
    Layout layout{};
    std::vector<double> w;  // the forward's weights, radix-major
    bool undo_transpose = true;
    std::string name() const override { return "RSoftmaxBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
        const Layout& L = layout;
        const std::vector<double> gw = grads[0].contiguous().to_vector();
        std::vector<double> ga(gw.size());
        for (int64_t n = 0; n < L.N; ++n)
            for (int64_t k = 0; k < L.K; ++k)
                for (int64_t j = 0; j < L.Cg; ++j) {
                    double dot = 0;  // sum_r w_r g_r
                    for (int64_t r = 0; r < L.R; ++r)
                        dot += w[L.weight(n, k, r, j)] * gw[L.weight(n, k, r, j)];
                    for (int64_t r = 0; r < L.R; ++r) {
                        const double d = w[L.weight(n, k, r, j)] * (gw[L.weight(n, k, r, j)] - dot);
                        // the inverse permutation: back to the logit's cardinality-major slot
                        ga[undo_transpose ? L.logit(n, k, r, j) : L.weight(n, k, r, j)] = d;
                    }
                }
        return {from_vector(ga, grads[0].shape(), DType::Float64)};
    }
};

// rSoftMax as one op: logits a [N, K*R*Cg] -> weights [N, R*K*Cg].
Tensor rsoftmax_op(const Tensor& a, int64_t K, int64_t R, bool undo_transpose) {
    const int64_t N = a.size(0), Cg = a.size(1) / (K * R);
    const Layout L{N, K, R, Cg};
    const std::vector<double> x = a.contiguous().to_vector();
    std::vector<double> w(x.size());
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k)
            for (int64_t j = 0; j < Cg; ++j) {
                double m = -INFINITY, z = 0;
                for (int64_t r = 0; r < R; ++r) m = std::max(m, x[L.logit(n, k, r, j)]);
                for (int64_t r = 0; r < R; ++r) z += std::exp(x[L.logit(n, k, r, j)] - m);
                for (int64_t r = 0; r < R; ++r)
                    w[L.weight(n, k, r, j)] = std::exp(x[L.logit(n, k, r, j)] - m) / z;
            }
    Tensor out = from_vector(w, a.shape(), DType::Float64);
    if (auto node = make_node<RSoftmaxBackward>({a})) {
        node->layout = L;
        node->w = w;
        node->undo_transpose = undo_transpose;
        record(node, {out});
    }
    return out;
}

// timm's reading (as nn/blocks/split_attn.cpp) or the seed notes' plain view, with ops.
Tensor rsoftmax_ops(const Tensor& a, int64_t K, int64_t R, bool plain_view) {
    const int64_t N = a.size(0), C = a.size(1) / R;
    if (plain_view) return reshape(softmax(reshape(a, {N, R, C}), 1), {N, R * C});
    return reshape(softmax(transpose(reshape(a, {N, K, R, C / K}), 1, 2), 1), {N, R * C});
}

// SplitAttn's forward in eval mode from a state dict, with either rSoftMax reading.
Tensor split_attn(const NamedTensors& st, const Tensor& x, int64_t K, int64_t R, bool plain_view) {
    auto P = [&](const std::string& n) { return walkthrough::find(st, n); };
    const Conv2dParams conv{{1, 1}, {1, 1}, {1, 1}, K * R};
    Tensor X =
        relu(batch_norm2d(conv2d(x, P("conv.weight"), Tensor(), conv), P("bn0.weight"),
                          P("bn0.bias"), P("bn0.running_mean"), P("bn0.running_var"), false));
    const int64_t N = x.size(0), C = X.size(1) / R, H = X.size(2), W = X.size(3);
    Tensor splits = reshape(X, {N, R, C, H, W});
    Tensor q = mean(sum(splits, {1}), {2, 3}, true);
    Tensor z = relu(batch_norm2d(
        conv2d(q, P("fc1.weight"), P("fc1.bias"), Conv2dParams{.groups = K}), P("bn1.weight"),
        P("bn1.bias"), P("bn1.running_mean"), P("bn1.running_var"), false));
    Tensor a =
        reshape(conv2d(z, P("fc2.weight"), P("fc2.bias"), Conv2dParams{.groups = K}), {N, R * C});
    Tensor w = reshape(rsoftmax_ops(a, K, R, plain_view), {N, R, C, 1, 1});
    return sum(splits * w, {1});
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s tests/data/mod_splitattn_r2g2.safetensors\n", argv[0]);
        return 2;
    }
    set_num_threads(1);
    Generator gen(70);
    bool ok = true;

    std::printf("== break it 1: an rSoftMax backward that forgets the inverse transpose\n");
    for (auto [K, R] : {std::pair<int64_t, int64_t>{2, 2}, {1, 2}}) {
        Tensor a = set_requires_grad(randn({2, K * R * 3}, DType::Float64, &gen));
        GradcheckResult right = gradcheck(
            [=](const std::vector<Tensor>& in) { return rsoftmax_op(in[0], K, R, true); }, {a});
        GradcheckResult wrong = gradcheck(
            [=](const std::vector<Tensor>& in) { return rsoftmax_op(in[0], K, R, false); }, {a});
        std::printf("  K = %lld, R = %lld: correct backward %s, forgetful backward %s\n",
                    static_cast<long long>(K), static_cast<long long>(R),
                    right.ok ? "PASS" : "FAIL", wrong.ok ? "PASS" : "FAIL");
        if (!wrong.ok) std::printf("    %s\n", wrong.message.c_str());
        ok &= right.ok && (K > 1 ? !wrong.ok : wrong.ok);
    }
    std::printf(
        "  (with K = 1 the two layouts are the same, so the bug hides: gradcheck with K > 1 and R "
        "> 1)\n");

    std::printf("\n== break it 2: the plain view a.view(N, R, C) instead of [N, K, R, C/K]\n");
    Tensor a = set_requires_grad(randn({2, 2 * 2 * 3}, DType::Float64, &gen));
    GradcheckResult plain = gradcheck(
        [](const std::vector<Tensor>& in) { return rsoftmax_ops(in[0], 2, 2, true); }, {a});
    std::printf(
        "  gradcheck of the plain view (K = 2, R = 2): %s (it is a valid function, with a correct "
        "backward)\n",
        plain.ok ? "PASS" : "FAIL");
    ok &= plain.ok;

    SafetensorsFile file = load_safetensors(argv[1]);
    const NamedTensors& st = file.tensors;
    const Tensor x = walkthrough::find(st, "input"),
                 expected = walkthrough::find(st, "output_eval");
    NoGradGuard no_grad;
    const double d_timm = walkthrough::largest_diff(split_attn(st, x, 2, 2, false), expected);
    const double d_plain = walkthrough::largest_diff(split_attn(st, x, 2, 2, true), expected);
    std::printf("  against the reference fixture (timm SplitAttn, radix 2, groups 2, eval):\n");
    std::printf("    timm's reading [N, K, R, C/K]: max |diff| %s\n",
                walkthrough::error_size(d_timm).c_str());
    std::printf("    the plain view [N, R, C]:      max |diff| %s  <- not timm's Split Attention\n",
                walkthrough::error_size(d_plain).c_str());
    ok &= d_timm < 1e-12 && d_plain > 1e-3;

    std::printf("\n%s\n", ok ? "gradcheck caught break 1; only the fixture caught break 2"
                             : "UNEXPECTED RESULT");
    return ok ? 0 : 1;
}
