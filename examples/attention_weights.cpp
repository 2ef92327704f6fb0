// The attention weights inside a Selective Kernel and a Split-Attention block.
//
// Both blocks compute several feature maps ("paths" in SK, "radix splits" in ResNeSt), squeeze
// their sum to one vector per sample, and turn that vector into one weight per (path, channel):
// a softmax over the paths, so for every channel the weights sum to 1. This program recomputes
// those weights from the blocks' own sub-modules with public ops, checks that the result gives
// the block's output, and prints them for sample 0.
//
// Run: build/example_attention_weights
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "nn/blocks/selective_kernel.h"
#include "nn/blocks/split_attn.h"
#include "ops/ops.h"
#include "tensor/random.h"

using namespace cardinal;

namespace {

// A registered sub-module by name (the same names as the state_dict keys).
Module& child(Module& m, const std::string& name) {
    for (auto& [n, c] : m.children())
        if (n == name) return *c;
    fail<ValueError>("attention_weights: ", m.type_name(), " has no child '", name, "'");
}

// Prints w[0, :, c] for every channel c (w is [N, P, C]) and, when `with_sum`, the sum over
// the P paths.
void print_weights(const Tensor& w, const char* path_label, bool with_sum = true) {
    const int64_t P = w.size(1), C = w.size(2);
    std::printf("  channel");
    for (int64_t p = 0; p < P; ++p) std::printf("  %6s", (path_label + std::to_string(p)).c_str());
    std::printf("%s\n", with_sum ? "       sum" : "");
    for (int64_t c = 0; c < C; ++c) {
        std::printf("  %7lld", static_cast<long long>(c));
        double s = 0;
        for (int64_t p = 0; p < P; ++p) {
            double v = w.at({0, p, c});
            s += v;
            std::printf("  %.4f", v);
        }
        if (with_sum) std::printf("  %.6f", s);
        std::printf("\n");
    }
}

// max over samples and channels of |sum_p w[n, p, c] - 1|.
double worst_sum_error(const Tensor& w) {
    Tensor s = sum(w, {1});  // [N, C]
    double worst = 0;
    for (double v : s.to_vector()) worst = std::max(worst, std::fabs(v - 1.0));
    return worst;
}

void selective_kernel(Generator& gen) {
    // Three paths: 3x3 dilation 1, 2, 3 (kernel sizes 3, 5, 7 kept as 3x3), every path sees
    // the whole input (split_input false), 8 -> 8 channels.
    SelectiveKernel sk(SelectiveKernelConfig{
        .in_channels = 8,
        .out_channels = 8,
        .sk = {.rd_ratio = 0.5, .rd_divisor = 4, .split_input = false, .kernel_size = {3, 5, 7}},
        .gen = &gen});
    sk.to(DType::Float64);
    sk.eval();  // BatchNorm uses its running statistics: nothing changes between forwards
    Tensor x = randn({2, 8, 6, 6}, DType::Float64, &gen);

    // The forward of SelectiveKernel, step by step.
    Module& paths = child(sk, "paths");
    std::vector<Tensor> outs;
    for (auto& [name, path] : paths.children())
        outs.push_back(path->forward(x));  // u_k [N, C, H, W]
    Tensor u = stack(outs, 1);             // [N, K, C, H, W]
    Module& attn = child(sk, "attn");
    Tensor s = mean(sum(u, {1}), {2, 3}, true);  // GAP(sum_k u_k) [N, C, 1, 1]
    Tensor z =
        relu(child(attn, "bn").forward(child(attn, "fc_reduce").forward(s)));  // [N, d, 1, 1]
    Tensor logits = child(attn, "fc_select").forward(z);                       // [N, K*C, 1, 1]
    const int64_t N = x.size(0), K = u.size(1), C = u.size(2);
    // Path-major: fc_select channel k*C + c is the logit of (path k, channel c).
    Tensor a = softmax(reshape(logits, {N, K, C}), 1);  // [N, K, C]
    Tensor y = sum(u * reshape(a, {N, K, C, 1, 1}), {1});

    std::printf("== SelectiveKernel: %lld paths, %lld channels, attention width %lld\n",
                static_cast<long long>(K), static_cast<long long>(C),
                static_cast<long long>(sk.attn_channels()));
    std::printf("  recomputed output vs sk.forward(x): max |diff| = %.3g\n",
                max_abs_diff(y, sk.forward(x)));
    std::printf("  a[0, k, c] (softmax over the paths k):\n");
    print_weights(a, "k");
    std::printf("  max over samples and channels of |sum_k a - 1| = %.3g\n\n", worst_sum_error(a));
}

void split_attention(Generator& gen, int64_t radix, int64_t groups) {
    const int64_t C = 8;
    SplitAttn sa(SplitAttnConfig{.in_channels = C,
                                 .out_channels = C,
                                 .groups = groups,
                                 .radix = radix,
                                 .rd_channels = 4,
                                 .gen = &gen});
    sa.to(DType::Float64);
    sa.eval();
    Tensor x_in = randn({2, C, 5, 5}, DType::Float64, &gen);

    // The forward of SplitAttn, step by step.
    Tensor x = relu(child(sa, "bn0").forward(child(sa, "conv").forward(x_in)));  // [N, R*C, H, W]
    const int64_t N = x.size(0), H = x.size(2), W = x.size(3), R = radix, G = groups;
    Tensor splits = reshape(x, {N, R, C, H, W});  // radix-major: split r = channels [r*C, (r+1)*C)
    Tensor gap = mean(sum(splits, {1}), {2, 3}, true);                         // [N, C, 1, 1]
    Tensor h = relu(child(sa, "bn1").forward(child(sa, "fc1").forward(gap)));  // [N, attn, 1, 1]
    Tensor logits = child(sa, "fc2").forward(h);                               // [N, R*C, 1, 1]

    std::printf("== SplitAttn: radix R = %lld, cardinality G = %lld, %lld channels\n",
                static_cast<long long>(R), static_cast<long long>(G), static_cast<long long>(C));
    if (R == 1) {
        // Radix 1: no softmax (one path has nothing to compete with), an elementwise sigmoid gate.
        Tensor gate = reshape(sigmoid(logits), {N, 1, C});
        Tensor y = x * reshape(gate, {N, C, 1, 1});
        std::printf("  recomputed output vs sa.forward(x): max |diff| = %.3g\n",
                    max_abs_diff(y, sa.forward(x_in)));
        std::printf(
            "  radix 1 uses sigmoid(fc2): one gate in (0, 1) per channel, nothing sums to 1\n");
        print_weights(gate, "gate", false);
        std::printf("\n");
        return;
    }
    // rSoftMax: fc2's channels are cardinality-major [G][R][C/G]; the splits are radix-major.
    // Read as [N, G, R, C/G], swap to [N, R, G, C/G], softmax over R, flatten to [N, R, C].
    Tensor a = reshape(softmax(transpose(reshape(logits, {N, G, R, C / G}), 1, 2), 1), {N, R, C});
    Tensor y = sum(splits * reshape(a, {N, R, C, 1, 1}), {1});
    std::printf("  recomputed output vs sa.forward(x): max |diff| = %.3g\n",
                max_abs_diff(y, sa.forward(x_in)));
    std::printf(
        "  which fc2 channel feeds weight (r, c): g*(R*C/G) + r*(C/G) + j with c = g*(C/G) + j\n");
    std::printf("    channel c:");
    for (int64_t c = 0; c < C; ++c) std::printf(" %2lld", static_cast<long long>(c));
    std::printf("\n");
    for (int64_t r = 0; r < R; ++r) {
        std::printf("    r=%lld      :", static_cast<long long>(r));
        for (int64_t c = 0; c < C; ++c)
            std::printf(" %2lld", static_cast<long long>((c / (C / G)) * (R * C / G) + r * (C / G) +
                                                         c % (C / G)));
        std::printf("\n");
    }
    std::printf("  a[0, r, c] (softmax over the radix r):\n");
    print_weights(a, "r");
    std::printf("  max over samples and channels of |sum_r a - 1| = %.3g\n", worst_sum_error(a));
    // The seed form (the early ResNeSt code, nn/blocks/seed/splat_conv2d.h) reads the same fc2
    // output as [R][C]: the same numbers, a different softmax grouping.
    Tensor seed_view = softmax(reshape(logits, {N, R, C}), 1);
    std::printf(
        "  the seed form's plain [R][C] reading of the same fc2 output differs by up to %.3g%s\n\n",
        max_abs_diff(seed_view, a), G == 1 ? " (G = 1: the two readings agree)" : "");
}

}  // namespace

int main() {
    Generator gen(11);
    selective_kernel(gen);
    split_attention(gen, /*radix=*/2, /*groups=*/2);
    split_attention(gen, /*radix=*/1, /*groups=*/1);
    return 0;
}
