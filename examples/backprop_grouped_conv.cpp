// Watch the three gradients of a grouped, strided, padded, dilated convolution, next to the
// index formulas of ops/conv.cpp and docs/backprop/grouped-conv.md, written as plain loops.
//
// Letters: N batch, C in channels, O out channels, G groups, Cg = C/G, Og = O/G, kernel KH x KW,
// stride s, padding p, dilation d:
//   y[n, o, oy, ox] = b[o] + sum_{c < Cg, kh, kw} w[o, c, kh, kw] * x[n, g*Cg + c, iy, ix]
//   g = o / Og,  iy = oy*s - p + kh*d,  ix = ox*s - p + kw*d   (x = 0 outside the input)
// The loss is L = sum(v * y) for a fixed random v, so gy = dL/dy = v.
//
// Run: build/example_backprop_grouped_conv
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "ops/ops.h"
#include "tensor/random.h"
#include "walkthrough.h"

using namespace cardinal;
using walkthrough::compare;

int main() {
    walkthrough::single_thread();
    Generator gen(40);
    const int64_t N = 2, C = 4, O = 6, G = 2, K = 3, H = 7, W = 7, s = 2, p = 1, d = 2;
    const int64_t Cg = C / G, Og = O / G;
    Tensor x = set_requires_grad(randn({N, C, H, W}, DType::Float64, &gen));
    Tensor w = set_requires_grad(randn({O, Cg, K, K}, DType::Float64, &gen));
    Tensor b = set_requires_grad(randn({O}, DType::Float64, &gen));
    const Conv2dParams params{{s, s}, {p, p}, {d, d}, G};
    const int64_t OH = conv_output_size(H, K, s, p, d), OW = conv_output_size(W, K, s, p, d);
    const Tensor v = randn({N, O, OH, OW}, DType::Float64, &gen);
    std::printf(
        "conv2d: x %s, w %s, groups %lld, stride %lld, padding %lld, dilation %lld -> y [%lld, "
        "%lld, %lld, %lld]\n",
        shape_str(x.shape()).c_str(), shape_str(w.shape()).c_str(), static_cast<long long>(G),
        static_cast<long long>(s), static_cast<long long>(p), static_cast<long long>(d),
        static_cast<long long>(N), static_cast<long long>(O), static_cast<long long>(OH),
        static_cast<long long>(OW));
    std::printf(
        "  OH = floor((H + 2p - d(KH - 1) - 1) / s) + 1 = floor((%lld + %lld - %lld - 1) / %lld) + "
        "1 = %lld\n\n",
        static_cast<long long>(H), static_cast<long long>(2 * p),
        static_cast<long long>(d * (K - 1)), static_cast<long long>(s), static_cast<long long>(OH));

    walkthrough::EngineTrace trace;
    Tensor y = conv2d(x, w, b, params);
    Tensor vy = y * v;
    Tensor L = sum(vy);
    trace.name(y, "y = conv2d(x, w, b)");
    trace.name(vy, "v * y");
    trace.name(L, "L = sum(v * y)");
    trace.name_leaf(x, "x (input)");
    trace.name_leaf(w, "w (weight)");
    trace.name_leaf(b, "b (bias)");
    backward(L);
    trace.print();

    // The formulas of ops/conv.cpp as loops over every (n, o, oy, ox, c, kh, kw).
    NoGradGuard no_grad;
    const std::vector<double> X = x.to_vector(), Wt = w.to_vector(), GY = v.to_vector();
    std::vector<double> gx(X.size(), 0.0), gw(Wt.size(), 0.0), gb(O, 0.0);
    std::vector<int> reads(X.size(), 0);  // how many (output, tap) pairs read each input pixel
    for (int64_t n = 0; n < N; ++n)
        for (int64_t o = 0; o < O; ++o) {
            const int64_t g = o / Og;
            for (int64_t oy = 0; oy < OH; ++oy)
                for (int64_t ox = 0; ox < OW; ++ox) {
                    const double gy = GY[((n * O + o) * OH + oy) * OW + ox];
                    gb[o] += gy;
                    for (int64_t c = 0; c < Cg; ++c)
                        for (int64_t kh = 0; kh < K; ++kh)
                            for (int64_t kw = 0; kw < K; ++kw) {
                                const int64_t iy = oy * s - p + kh * d, ix = ox * s - p + kw * d;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;  // padding
                                const int64_t xi = ((n * C + g * Cg + c) * H + iy) * W + ix;
                                const int64_t wi = ((o * Cg + c) * K + kh) * K + kw;
                                gx[xi] += gy * Wt[wi];  // backward-data
                                gw[wi] += gy * X[xi];   // backward-weights
                                ++reads[xi];
                            }
                }
        }
    std::printf("\nthe index formulas (ops/conv.cpp), as loops:\n");
    bool ok = true;
    ok &= compare("dL/dx", "sum over the taps that read x of gy * w", grad(x),
                  from_vector(gx, x.shape(), DType::Float64));
    ok &= compare("dL/dw", "sum_{n, oy, ox} gy * x[n, g*Cg + c, iy, ix]", grad(w),
                  from_vector(gw, w.shape(), DType::Float64));
    ok &=
        compare("dL/db", "sum_{n, oy, ox} gy", grad(b), from_vector(gb, b.shape(), DType::Float64));
    int64_t unread = 0;
    double unread_grad = 0;
    for (size_t i = 0; i < reads.size(); ++i)
        if (reads[i] == 0) {
            ++unread;
            unread_grad = std::max(unread_grad, std::fabs(grad(x).to_vector()[i]));
        }
    std::printf(
        "  stride %lld with dilation %lld skips input pixels: %lld of %zu are read by no tap, and "
        "their\n"
        "  gradient is exactly 0 (largest |dL/dx| there: %g)\n",
        static_cast<long long>(s), static_cast<long long>(d), static_cast<long long>(unread),
        reads.size(), unread_grad);
    // A group sees only its own channels: dL/dx of group 0's channels comes from outputs 0..Og-1.
    std::printf(
        "  groups: input channels %lld..%lld get gradient only from outputs %lld..%lld, and so "
        "on\n",
        0LL, static_cast<long long>(Cg - 1), 0LL, static_cast<long long>(Og - 1));

    std::printf("\n%s\n",
                ok ? "every engine gradient equals its closed form" : "MISMATCH: see above");
    return ok ? 0 : 1;
}
