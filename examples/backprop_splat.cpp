// Watch every gradient of ResNeSt's Split Attention flow, in engine order, next to the closed
// forms of docs/backprop/split-attention.md: radix 2 x cardinality 2, then radix 1.
//
// SplitAttn (nn/blocks/split_attn.cpp), R = radix, K = cardinality, C = channels, A = attn:
//   X    = relu(bn0(conv(x)))            [N, R*C, H, W], conv groups K*R
//   X_r  = X[:, r*C:(r+1)*C]             the splits (radix-major), viewed as [N, R, C, H, W]
//   q    = mean_HW(sum_r X_r)            [N, C, 1, 1]
//   u    = fc1(q); b = bn1(u); z = relu(b); a = fc2(z)    fc1, fc2 grouped K; a: [N, R*C, 1, 1]
//   l    = transpose(a viewed [N, K, R, C/K], 1, 2)       [N, R, K, C/K]  (rSoftMax's read)
//   w    = softmax over r of l           (R = 1: w = sigmoid(a))
//   y    = sum_r X_r * w_r
// The loss is L = sum(v * y) for a fixed random v, so g = dL/dy = v.
//
// Run: build/example_backprop_splat
#include <vector>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "nn/blocks/split_attn.h"
#include "ops/ops.h"
#include "tensor/random.h"
#include "walkthrough.h"

using namespace cardinal;
using walkthrough::compare;

namespace {

bool walk(int64_t R, int64_t K, uint64_t seed) {
    Generator gen(seed);
    const int64_t N = 2, Cin = 8, C = 8, H = 4, W = 4;
    SplitAttn block(SplitAttnConfig{.in_channels = Cin,
                                    .out_channels = C,
                                    .groups = K,
                                    .radix = R,
                                    .rd_channels = 4,
                                    .gen = &gen});
    block.to(DType::Float64);
    block.train();
    const NamedTensors p = block.named_parameters(), bufs = block.named_buffers();
    auto P = [&](const std::string& n) { return walkthrough::find(p, n); };
    auto B = [&](const std::string& n) {
        return walkthrough::find(bufs, n).clone();
    };  // stats stay untouched
    const int64_t A = block.attn_channels();
    Tensor x = set_requires_grad(randn({N, Cin, H, W}, DType::Float64, &gen));
    const Tensor v = randn({N, C, H, W}, DType::Float64, &gen);
    std::printf(
        "== SplitAttn radix R = %lld, cardinality K = %lld: x %s, C = %lld, attn A = %lld, train "
        "mode\n\n",
        static_cast<long long>(R), static_cast<long long>(K), shape_str(x.shape()).c_str(),
        static_cast<long long>(C), static_cast<long long>(A));

    walkthrough::EngineTrace trace;
    Conv2dParams conv_p{{1, 1}, {1, 1}, {1, 1}, K * R};
    Tensor c0 = conv2d(x, P("conv.weight"), Tensor(), conv_p);
    Tensor bn0 = batch_norm2d(c0, P("bn0.weight"), P("bn0.bias"), B("bn0.running_mean"),
                              B("bn0.running_var"), true);
    Tensor X = relu(bn0);
    Tensor splits = R > 1 ? reshape(X, {N, R, C, H, W}) : X;
    Tensor S = R > 1 ? sum(splits, {1}) : X;
    Tensor q = mean(S, {2, 3}, true);
    Tensor u = conv2d(q, P("fc1.weight"), P("fc1.bias"), Conv2dParams{.groups = K});
    Tensor b = batch_norm2d(u, P("bn1.weight"), P("bn1.bias"), B("bn1.running_mean"),
                            B("bn1.running_var"), true);
    Tensor z = relu(b);
    Tensor a = conv2d(z, P("fc2.weight"), P("fc2.bias"), Conv2dParams{.groups = K});
    Tensor a4, l, sm, w, Xw, y;
    if (R > 1) {
        a4 = reshape(a, {N, K, R, C / K});  // fc2's channels are cardinality-major
        l = transpose(a4, 1, 2);            // [N, R, K, C/K]
        sm = softmax(l, 1);
        w = reshape(sm, {N, R, C, 1, 1});  // radix-major
        Xw = splits * w;
        y = sum(Xw, {1});
    } else {
        w = sigmoid(a);
        y = X * w;
    }
    Tensor vy = y * v;
    Tensor L = sum(vy);
    trace.name(c0, "conv(x)");
    trace.name(bn0, "bn0");
    trace.name(X, "X = relu(bn0)");
    if (R > 1) {
        trace.name(splits, "X_r: X viewed [N, R, C, H, W]");
        trace.name(S, "sum_r X_r");
        trace.name(a4, "a viewed [N, K, R, C/K]");
        trace.name(l, "l = transpose(., 1, 2)");
        trace.name(sm, "softmax over r");
        trace.name(Xw, "X_r * w_r");
    }
    trace.name(q, R > 1 ? "q = mean_HW(sum_r X_r)" : "q = mean_HW(X)");
    trace.name(u, "u = fc1(q)");
    trace.name(b, "b = bn1(u)");
    trace.name(z, "z = relu(b)");
    trace.name(a, "a = fc2(z)");
    trace.name(w, R > 1 ? "w viewed [N, R, C, 1, 1]" : "w = sigmoid(a)");
    trace.name(y, R > 1 ? "y = sum_r X_r * w_r" : "y = X * w");
    trace.name(vy, "v * y");
    trace.name(L, "L = sum(v * y)");
    for (const auto& [pname, t] : p) trace.name_leaf(t, pname);
    trace.name_leaf(x, "x (input)");
    {
        NoGradGuard no_grad;
        SplitAttn& m = block;
        std::printf("the step-by-step forward equals SplitAttn::forward: max |diff| %s\n\n",
                    walkthrough::error_size(walkthrough::largest_diff(y, m.forward(x))).c_str());
    }
    backward(L);
    trace.print();

    NoGradGuard no_grad;
    std::printf("\nclosed forms (docs/backprop/split-attention.md), in engine order:\n");
    bool ok = true;
    const Tensor g = v;
    ok &= compare("dL/dy", "v", grad(y), g);
    const Tensor Xd = detach(R > 1 ? splits : X), wd = detach(w);
    if (R > 1) {
        // G_r = dL/dw_r = sum_HW g * X_r, as [N, R, C, 1, 1]
        const Tensor G = sum(unsqueeze(g, 1) * Xd, {3, 4}, true);
        ok &= compare("dL/dw_r", "sum_HW(g * X_r)", grad(w), G);
        // softmax over r, in the transposed layout [N, R, K, C/K]
        const Tensor Gl = reshape(G, {N, R, K, C / K}), wl = reshape(wd, {N, R, K, C / K});
        const Tensor dl = wl * (Gl - sum(wl * Gl, {1}, true));
        ok &= compare("dL/dl_r", "w_r * (G_r - sum_r' w_r' G_r')", grad(l), dl);
        ok &= walkthrough::expect_zero("sum over r of dL/dl_r (softmax gradients sum to 0)",
                                       sum(grad(l), {1}));
        // the inverse of rSoftMax's transpose: back to fc2's cardinality-major channels
        ok &= compare("dL/da", "transpose(dL/dl, 1, 2), as [N, K*R*C/K]",
                      reshape(grad(a), {N, K, R, C / K}), transpose(dl, 1, 2));
    } else {
        const Tensor G = sum(g * Xd, {2, 3}, true);
        ok &= compare("dL/dw", "sum_HW(g * X)", grad(w), G);
        ok &= compare("dL/da", "dL/dw * w * (1 - w)", grad(a), G * wd * add(neg(wd), 1.0));
    }
    const Tensor dz = walkthrough::grouped_transpose(P("fc2.weight"), grad(a), N, A, R * C, K);
    ok &= compare("dL/dz", "fc2^T dL/da (group by group)", reshape(grad(z), {N, A}), dz);
    const Tensor db = dz * reshape(kernels::greater_scalar(detach(b), 0.0), {N, A});
    ok &= compare("dL/db", "dL/dz * [b > 0]   (relu')", reshape(grad(b), {N, A}), db);
    const Tensor du = walkthrough::batch_norm_backward(detach(u), P("bn1.weight"), db, N, A, 1e-5);
    ok &= compare("dL/du", "bn1 backward over the N samples", reshape(grad(u), {N, A}), du);
    const Tensor dq = walkthrough::grouped_transpose(P("fc1.weight"), du, N, C, A, K);
    ok &= compare("dL/dq", "fc1^T dL/du (group by group)", reshape(grad(q), {N, C}), dq);
    // dL/dX_r has two terms: the direct one through y, and the one through q (shared by all r)
    const Tensor dq_spread = expand(reshape(dq, {N, C, 1, 1}), {N, C, H, W}) * (1.0 / (H * W));
    if (R > 1) {
        const Tensor direct = unsqueeze(g, 1) * wd, through_q = unsqueeze(dq_spread, 1);
        ok &= compare("dL/dX_r", "g * w_r  +  (1/HW) dL/dq", grad(splits), direct + through_q);
        std::printf("  the two terms of dL/dX_r: |g * w_r| = %.6f, |(1/HW) dL/dq| (per r) = %.6f\n",
                    walkthrough::norm(direct), walkthrough::norm(dq_spread));
    } else {
        const Tensor direct = g * wd;
        ok &= compare("dL/dX", "g * w  +  (1/HW) dL/dq", grad(X), direct + dq_spread);
        std::printf("  the two terms of dL/dX: |g * w| = %.6f, |(1/HW) dL/dq| = %.6f\n",
                    walkthrough::norm(direct), walkthrough::norm(dq_spread));
    }
    std::printf("\n");
    return ok;
}

}  // namespace

int main() {
    walkthrough::single_thread();
    bool ok = walk(2, 2, 20);
    ok = walk(1, 2, 21) && ok;
    std::printf("%s\n",
                ok ? "every engine gradient equals its closed form" : "MISMATCH: see above");
    return ok ? 0 : 1;
}
