// Watch every gradient of a Squeeze-and-Excitation block flow, in the order the engine
// computes them, next to the closed forms of docs/backprop/se.md.
//
// SE (nn/blocks/se.cpp), for x [N, C, H, W]:
//   q = mean_{H,W}(x)          [N, C, 1, 1]    the squeeze
//   u = fc1(q) = W1 q + b1     [N, rd, 1, 1]   1x1 conv
//   z = relu(u)
//   a = fc2(z) = W2 z + b2     [N, C, 1, 1]
//   s = sigmoid(a)                             the gate, one number per (sample, channel)
//   y = x * s                                  broadcast over H, W
// The loss is L = sum(v * y) for a fixed random v, so g = dL/dy = v.
//
// Run: build/example_backprop_se
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "nn/blocks/se.h"
#include "ops/ops.h"
#include "tensor/random.h"
#include "walkthrough.h"

using namespace cardinal;
using walkthrough::compare;

int main() {
    walkthrough::single_thread();
    Generator gen(10);
    const int64_t N = 2, C = 8, H = 3, W = 3;
    SEModule se(C, 0.25, 2, &gen);  // rd = 2
    se.to(DType::Float64);
    const NamedTensors p = se.named_parameters();
    auto param = [&](const std::string& name) { return walkthrough::find(p, name); };
    const Tensor W1 = param("fc1.weight"), b1 = param("fc1.bias"), W2 = param("fc2.weight"),
                 b2 = param("fc2.bias");
    Tensor x = set_requires_grad(randn({N, C, H, W}, DType::Float64, &gen));
    const Tensor v = randn({N, C, H, W}, DType::Float64, &gen);
    std::printf("SE block: x %s, C = %lld reduced to rd = %lld, float64\n\n",
                shape_str(x.shape()).c_str(), static_cast<long long>(C),
                static_cast<long long>(se.rd_channels()));

    // ---- forward, step by step (the same ops SEModule::forward runs) -----------------------
    walkthrough::EngineTrace trace;
    Tensor q = mean(x, {2, 3}, true);
    Tensor u = conv2d(q, W1, b1);
    Tensor z = relu(u);
    Tensor a = conv2d(z, W2, b2);
    Tensor s = sigmoid(a);
    Tensor y = x * s;
    Tensor vy = y * v;
    Tensor L = sum(vy);
    trace.name(q, "q = mean_HW(x)");
    trace.name(u, "u = fc1(q)");
    trace.name(z, "z = relu(u)");
    trace.name(a, "a = fc2(z)");
    trace.name(s, "s = sigmoid(a)");
    trace.name(y, "y = x * s");
    trace.name(vy, "v * y");
    trace.name(L, "L = sum(v * y)");
    trace.name_leaf(x, "x (input)");
    trace.name_leaf(W1, "fc1.weight");
    trace.name_leaf(b1, "fc1.bias");
    trace.name_leaf(W2, "fc2.weight");
    trace.name_leaf(b2, "fc2.bias");
    {
        NoGradGuard no_grad;  // the module's own forward, for comparison only
        std::printf("the step-by-step forward equals SEModule::forward: max |diff| %s\n\n",
                    walkthrough::error_size(walkthrough::largest_diff(y, se.forward(x))).c_str());
    }

    backward(L);
    trace.print();

    // ---- the closed forms, in the same order -----------------------------------------------
    NoGradGuard no_grad;
    const int64_t rd = se.rd_channels();
    std::printf("\nclosed forms (docs/backprop/se.md), in engine order:\n");
    bool ok = true;
    const Tensor g = v;  // dL/dy
    ok &= compare("dL/dy", "v", grad(y), g);
    const Tensor dS = sum(g * x, {2, 3}, true);  // the gate is shared over H, W
    ok &= compare("dL/ds", "sum_HW(g * x)", grad(s), dS);
    const Tensor sv = detach(s);
    const Tensor dA = dS * sv * add(neg(sv), 1.0);
    ok &= compare("dL/da", "dL/ds * s * (1 - s)", grad(a), dA);
    // 1x1 conv = matrix product over channels: a[n, c] = sum_j W2[c, j] z[n, j] + b2[c].
    const Tensor dA2 = reshape(dA, {N, C}), z2 = reshape(detach(z), {N, rd}),
                 W2m = reshape(W2, {C, rd});
    ok &= compare("dL/dz", "W2^T dL/da", reshape(grad(z), {N, rd}), matmul(dA2, W2m));
    ok &= compare("dL/dW2", "sum_n dL/da[n] z[n]^T", reshape(grad(W2), {C, rd}),
                  matmul(transpose(dA2, 0, 1), z2));
    ok &= compare("dL/db2", "sum_n dL/da[n]", grad(b2), sum(dA2, {0}));
    const Tensor dU = grad(z) * kernels::greater_scalar(detach(u), 0.0);
    ok &= compare("dL/du", "dL/dz * [u > 0]", grad(u), dU);
    const Tensor dU2 = reshape(dU, {N, rd}), W1m = reshape(W1, {rd, C}),
                 q2 = reshape(detach(q), {N, C});
    ok &= compare("dL/dq", "W1^T dL/du", reshape(grad(q), {N, C}), matmul(dU2, W1m));
    ok &= compare("dL/dW1", "sum_n dL/du[n] q[n]^T", reshape(grad(W1), W1m.shape()),
                  matmul(transpose(dU2, 0, 1), q2));
    ok &= compare("dL/db1", "sum_n dL/du[n]", grad(b1), sum(dU2, {0}));
    // x feeds two paths; the engine sums them in x's AccumulateGrad.
    const Tensor identity_path = g * sv;
    const Tensor gate_path = expand(grad(q), x.shape()) * (1.0 / (H * W));
    ok &=
        compare("dL/dx", "g * s  +  (1/HW) dL/dq  (two paths)", grad(x), identity_path + gate_path);
    std::printf("  the two paths of dL/dx: |g * s| = %.6f, |(1/HW) dL/dq| = %.6f\n",
                walkthrough::norm(identity_path), walkthrough::norm(gate_path));

    std::printf("\n%s\n",
                ok ? "every engine gradient equals its closed form" : "MISMATCH: see above");
    return ok ? 0 : 1;
}
