// Watch every gradient of a Selective Kernel convolution flow, in engine order, next to the
// closed forms of docs/backprop/sk.md.
//
// SelectiveKernel (nn/blocks/selective_kernel.cpp), P paths, C channels, A attention width:
//   x_i   = the i-th channel slice of x (split_input)
//   V_i   = relu(bn_i(conv_i(x_i)))    path i: 3x3 with dilation d_i = dilation * (k_i - 1) / 2
//   U     = sum_i V_i;  s = mean_HW(U)                       [N, C, 1, 1]
//   u     = fc_reduce(s);  b = bn(u);  z = relu(b);  l = fc_select(z)  viewed [N, P, C, 1, 1]
//   w     = softmax over i of l        (path-major: the logit of (i, c) is channel i*C + c)
//   y     = sum_i V_i * w_i
// The loss is L = sum(v * y) for a fixed random v, so g = dL/dy = v.
//
// Run: build/example_backprop_sk
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "nn/blocks/selective_kernel.h"
#include "ops/ops.h"
#include "tensor/random.h"
#include "walkthrough.h"

using namespace cardinal;
using walkthrough::compare;

int main() {
    walkthrough::single_thread();
    Generator gen(30);
    const int64_t N = 2, Cin = 8, C = 8, H = 5, W = 5, P = 2;
    SelectiveKernelConfig cfg{.in_channels = Cin, .out_channels = C, .gen = &gen};
    cfg.sk.kernel_size = {3, 5};  // 3x3 dilation 1 and 3x3 dilation 2 (keep_3x3)
    cfg.sk.rd_channels = 4;
    SelectiveKernel sk(cfg);
    sk.to(DType::Float64);
    sk.train();
    const NamedTensors p = sk.named_parameters(), bufs = sk.named_buffers();
    auto Pm = [&](const std::string& n) { return walkthrough::find(p, n); };
    auto B = [&](const std::string& n) { return walkthrough::find(bufs, n).clone(); };
    const int64_t A = sk.attn_channels();
    Tensor x = set_requires_grad(randn({N, Cin, H, W}, DType::Float64, &gen));
    const Tensor v = randn({N, C, H, W}, DType::Float64, &gen);
    std::printf(
        "SelectiveKernel: x %s, P = %lld paths (3x3 dilation 1 and 2), C = %lld, A = %lld, train "
        "mode\n\n",
        shape_str(x.shape()).c_str(), static_cast<long long>(P), static_cast<long long>(C),
        static_cast<long long>(A));

    walkthrough::EngineTrace trace;
    std::vector<Tensor> xs = split(x, Cin / P, 1), convs, bns, Vs;
    for (int64_t i = 0; i < P; ++i) {
        const std::string pre = "paths." + std::to_string(i);
        const int64_t d = i + 1;  // dilation (k - 1) / 2 for k = 3, 5
        convs.push_back(conv2d(xs[i], Pm(pre + ".conv.weight"), Tensor(),
                               Conv2dParams{{1, 1}, {d, d}, {d, d}, 1}));
        bns.push_back(batch_norm2d(convs[i], Pm(pre + ".bn.weight"), Pm(pre + ".bn.bias"),
                                   B(pre + ".bn.running_mean"), B(pre + ".bn.running_var"), true));
        Vs.push_back(relu(bns[i]));
    }
    Tensor V = stack(Vs, 1);  // [N, P, C, H, W]
    Tensor U = sum(V, {1});
    Tensor s = mean(U, {2, 3}, true);
    Tensor u = conv2d(s, Pm("attn.fc_reduce.weight"));
    Tensor b = batch_norm2d(u, Pm("attn.bn.weight"), Pm("attn.bn.bias"), B("attn.bn.running_mean"),
                            B("attn.bn.running_var"), true);
    Tensor z = relu(b);
    Tensor sel = conv2d(z, Pm("attn.fc_select.weight"));
    Tensor l5 = reshape(sel, {N, P, C, 1, 1});
    Tensor w = softmax(l5, 1);
    Tensor Vw = V * w;
    Tensor y = sum(Vw, {1});
    Tensor vy = y * v;
    Tensor L = sum(vy);
    for (int64_t i = 0; i < P; ++i) {
        const std::string n = std::to_string(i);
        trace.name(convs[i], "conv_" + n + "(x_" + n + ")");
        trace.name(bns[i], "bn_" + n);
        trace.name(Vs[i], "V_" + n + " = relu(bn_" + n + ")");
    }
    for (const Tensor& xi : xs) trace.name(xi, "x_i = split(x): the path inputs");
    trace.name(V, "V = stack_i V_i");
    trace.name(U, "U = sum_i V_i");
    trace.name(s, "s = mean_HW(U)");
    trace.name(u, "u = fc_reduce(s)");
    trace.name(b, "b = bn(u)");
    trace.name(z, "z = relu(b)");
    trace.name(sel, "fc_select(z)");
    trace.name(l5, "l = fc_select(z) as [N, P, C]");
    trace.name(w, "w = softmax over i of l");
    trace.name(Vw, "V_i * w_i");
    trace.name(y, "y = sum_i V_i * w_i");
    trace.name(vy, "v * y");
    trace.name(L, "L = sum(v * y)");
    trace.name_leaf(x, "x (input)");
    for (const auto& [pname, t] : p) trace.name_leaf(t, pname);
    {
        NoGradGuard no_grad;
        std::printf("the step-by-step forward equals SelectiveKernel::forward: max |diff| %s\n\n",
                    walkthrough::error_size(walkthrough::largest_diff(y, sk.forward(x))).c_str());
    }
    backward(L);
    trace.print();

    NoGradGuard no_grad;
    std::printf("\nclosed forms (docs/backprop/sk.md), in engine order:\n");
    bool ok = true;
    const Tensor g = v, Vd = detach(V), wd = detach(w);
    ok &= compare("dL/dy", "v", grad(y), g);
    const Tensor G = sum(unsqueeze(g, 1) * Vd, {3, 4}, true);  // [N, P, C, 1, 1]
    ok &= compare("dL/dw_i", "G_i = sum_HW(g * V_i)", grad(w), G);
    const Tensor dl = wd * (G - sum(wd * G, {1}, true));
    ok &= compare("dL/dl_i", "w_i * (G_i - sum_j w_j G_j)", grad(l5), dl);
    ok &= walkthrough::expect_zero("sum over i of dL/dl_i (softmax gradients sum to 0)",
                                   sum(grad(l5), {1}));
    const Tensor dz =
        walkthrough::grouped_transpose(Pm("attn.fc_select.weight"), dl, N, A, P * C, 1);
    ok &= compare("dL/dz", "fc_select^T dL/dl", reshape(grad(z), {N, A}), dz);
    const Tensor db = dz * reshape(kernels::greater_scalar(detach(b), 0.0), {N, A});
    ok &= compare("dL/db", "dL/dz * [b > 0]", reshape(grad(b), {N, A}), db);
    const Tensor du =
        walkthrough::batch_norm_backward(detach(u), Pm("attn.bn.weight"), db, N, A, 1e-5);
    ok &= compare("dL/du", "bn backward over the N samples", reshape(grad(u), {N, A}), du);
    const Tensor ds = walkthrough::grouped_transpose(Pm("attn.fc_reduce.weight"), du, N, C, A, 1);
    ok &= compare("dL/ds", "fc_reduce^T dL/du", reshape(grad(s), {N, C}), ds);
    const Tensor ds_spread = expand(reshape(ds, {N, C, 1, 1}), {N, C, H, W}) * (1.0 / (H * W));
    for (int64_t i = 0; i < P; ++i) {
        const Tensor direct = g * narrow(wd, 1, i, 1).reshape({N, C, 1, 1});
        const std::string n = std::to_string(i);
        ok &= compare("dL/dV_" + n, "g * w_" + n + "  +  (1/HW) dL/ds", grad(Vs[i]),
                      direct + ds_spread);
    }
    std::printf("  the two terms of dL/dV_i: |(1/HW) dL/ds| = %.6f for every i; |g * w_i| =",
                walkthrough::norm(ds_spread));
    for (int64_t i = 0; i < P; ++i)
        std::printf(" %.6f", walkthrough::norm(g * narrow(wd, 1, i, 1).reshape({N, C, 1, 1})));
    std::printf("\n");
    std::printf("\n%s\n",
                ok ? "every engine gradient equals its closed form" : "MISMATCH: see above");
    return ok ? 0 : 1;
}
