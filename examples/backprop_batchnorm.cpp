// Watch BatchNorm2d's backward in train mode and in eval mode, next to the closed forms of
// ops/batch_norm.cpp and docs/backprop/batch-norm.md, and see why a BatchNorm on 1x1 maps
// (inside SK and Split Attention) couples the samples of a batch.
//
// For channel c over its m = N*H*W values (train) or with the running statistics (eval):
//   xhat = (x - mean_c) * rstd_c,  y = gamma_c * xhat + beta_c
//   dL/dbeta_c = S_g = sum g,  dL/dgamma_c = S_gx = sum g * xhat
//   train: dL/dx = gamma_c rstd_c / m * (m g - S_g - xhat S_gx)
//   eval:  dL/dx = gamma_c rstd_c g
//
// Run: build/example_backprop_batchnorm
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "ops/ops.h"
#include "tensor/random.h"
#include "walkthrough.h"

using namespace cardinal;
using walkthrough::compare;

namespace {

struct Result {
    Tensor x, gamma, beta, y;
};

// One forward and backward of L = sum(v * bn(x)); prints the engine order.
Result run(bool training, const Shape& shape, const Tensor& v, Generator& gen, const Tensor& rm,
           const Tensor& rv) {
    Result r;
    r.x = set_requires_grad(randn(shape, DType::Float64, &gen));
    r.gamma = set_requires_grad(uniform({shape[1]}, 0.5, 1.5, DType::Float64, &gen));
    r.beta = set_requires_grad(randn({shape[1]}, DType::Float64, &gen));
    walkthrough::EngineTrace trace;
    r.y = batch_norm2d(r.x, r.gamma, r.beta, rm.clone(), rv.clone(), training);
    Tensor vy = r.y * v;
    Tensor L = sum(vy);
    trace.name(r.y, training ? "y = bn(x), batch statistics" : "y = bn(x), running statistics");
    trace.name(vy, "v * y");
    trace.name(L, "L = sum(v * y)");
    trace.name_leaf(r.x, "x (input)");
    trace.name_leaf(r.gamma, "gamma (weight)");
    trace.name_leaf(r.beta, "beta (bias)");
    backward(L);
    trace.print();
    return r;
}

// The closed forms for every channel, with mean and var from the batch (train) or given.
bool check_closed_forms(const Result& r, const Tensor& v, bool training, const Tensor& rm,
                        const Tensor& rv) {
    NoGradGuard no_grad;
    const int64_t N = r.x.size(0), C = r.x.size(1), HW = r.x.size(2) * r.x.size(3), m = N * HW;
    const std::vector<double> x = r.x.to_vector(), g = v.to_vector(), gamma = r.gamma.to_vector();
    std::vector<double> gx(x.size()), ggamma(C), gbeta(C);
    for (int64_t c = 0; c < C; ++c) {
        auto at = [&](int64_t n, int64_t i) { return (n * C + c) * HW + i; };
        double mean = rm.to_vector()[c], var = rv.to_vector()[c];
        if (training) {
            mean = var = 0;
            for (int64_t n = 0; n < N; ++n)
                for (int64_t i = 0; i < HW; ++i) mean += x[at(n, i)] / m;
            for (int64_t n = 0; n < N; ++n)
                for (int64_t i = 0; i < HW; ++i)
                    var += (x[at(n, i)] - mean) * (x[at(n, i)] - mean) / m;
        }
        const double rstd = 1 / std::sqrt(var + 1e-5);
        double Sg = 0, Sgx = 0;
        for (int64_t n = 0; n < N; ++n)
            for (int64_t i = 0; i < HW; ++i) {
                Sg += g[at(n, i)];
                Sgx += g[at(n, i)] * (x[at(n, i)] - mean) * rstd;
            }
        gbeta[c] = Sg;
        ggamma[c] = Sgx;
        for (int64_t n = 0; n < N; ++n)
            for (int64_t i = 0; i < HW; ++i) {
                const double xhat = (x[at(n, i)] - mean) * rstd;
                gx[at(n, i)] = training ? gamma[c] * rstd / m * (m * g[at(n, i)] - Sg - xhat * Sgx)
                                        : gamma[c] * rstd * g[at(n, i)];
            }
    }
    bool ok = true;
    ok &= compare("dL/dbeta", "S_g = sum g", grad(r.beta), from_vector(gbeta, {C}, DType::Float64));
    ok &= compare("dL/dgamma", "S_gx = sum g * xhat", grad(r.gamma),
                  from_vector(ggamma, {C}, DType::Float64));
    ok &= compare("dL/dx", training ? "gamma rstd / m (m g - S_g - xhat S_gx)" : "gamma rstd g",
                  grad(r.x), from_vector(gx, r.x.shape(), DType::Float64));
    return ok;
}

}  // namespace

int main() {
    walkthrough::single_thread();
    Generator gen(50);
    const Shape shape{3, 2, 2, 2};
    const Tensor rm = randn({2}, DType::Float64, &gen),
                 rv = uniform({2}, 0.5, 2.0, DType::Float64, &gen);
    const Tensor v = randn(shape, DType::Float64, &gen);
    bool ok = true;

    std::printf(
        "== train mode: x %s, statistics of each channel over its m = N*H*W = %lld values\n",
        shape_str(shape).c_str(), static_cast<long long>(shape[0] * shape[2] * shape[3]));
    Result train = run(true, shape, v, gen, rm, rv);
    std::printf("closed forms:\n");
    ok &= check_closed_forms(train, v, true, rm, rv);
    {
        NoGradGuard no_grad;
        ok &= walkthrough::expect_zero("sum over a channel of dL/dx (the mean is subtracted)",
                                       sum(grad(train.x), {0, 2, 3}));
    }

    std::printf("\n== eval mode: the running statistics are constants\n");
    Result eval = run(false, shape, v, gen, rm, rv);
    std::printf("closed forms:\n");
    ok &= check_closed_forms(eval, v, false, rm, rv);

    // Coupling: on 1x1 maps (the BatchNorm inside SK's and Split Attention's gate) m = N, so
    // each sample's gradient depends on every other sample's. Give a gradient to sample 1 only.
    std::printf("\n== coupling on 1x1 maps, x [4, 3, 1, 1]: a gradient on sample 1 only\n");
    for (bool training : {true, false}) {
        Tensor x = set_requires_grad(randn({4, 3, 1, 1}, DType::Float64, &gen));
        Tensor gamma = ones({3}, DType::Float64), beta = zeros({3}, DType::Float64);
        std::vector<double> only1(12, 0.0);
        for (int64_t c = 0; c < 3; ++c) only1[1 * 3 + c] = 1.0;
        Tensor y = batch_norm2d(x, gamma, beta, zeros({3}, DType::Float64),
                                ones({3}, DType::Float64), training);
        backward(y, from_vector(only1, {4, 3, 1, 1}, DType::Float64));
        const std::vector<double> gx = grad(x).to_vector();
        double other = 0;
        for (int64_t n = 0; n < 4; ++n)
            if (n != 1)
                for (int64_t c = 0; c < 3; ++c) other = std::max(other, std::fabs(gx[n * 3 + c]));
        std::printf("  %s: largest |dL/dx| on samples 0, 2, 3 = %.6f%s\n",
                    training ? "train" : "eval ", other,
                    training ? "  (the batch mean and variance carry it across)"
                             : "  (samples independent)");
        ok &= training ? other > 1e-3 : other == 0;
    }

    std::printf("\n%s\n",
                ok ? "every engine gradient equals its closed form" : "MISMATCH: see above");
    return ok ? 0 : 1;
}
