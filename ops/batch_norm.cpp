// Batch normalisation of x [N, C, H, W], one set of statistics per channel c over the
// n = N*H*W values of that channel.
//
// Forward, training:
//   mean_c = (1/n) sum x,   var_c = (1/n) sum (x - mean_c)^2        (biased)
//   rstd_c = 1 / sqrt(var_c + eps),   xhat = (x - mean_c) * rstd_c,   y = w_c * xhat + b_c
//   running_mean_c <- (1 - m) running_mean_c + m mean_c
//   running_var_c  <- (1 - m) running_var_c  + m var_c * n / (n - 1)   (unbiased, as PyTorch)
// Forward, eval: mean_c and var_c are the running statistics; nothing is updated.
// Without affine parameters w_c = 1 and b_c = 0.
//
// Backward, with g = dL/dy and sums over the n values of channel c:
//   S_g  = sum g,   S_gx = sum g * xhat
//   grad_b_c = S_g,   grad_w_c = S_gx
//   training: grad_x = w_c rstd_c / n * (n g - S_g - xhat S_gx)   (mean and var depend on x)
//   eval:     grad_x = w_c rstd_c g                                (the statistics are constants)
// Both are computed as grad_x = a_c g + b_c (x - mean_c) + k_c with per-channel a, b, k, so the
// inner loop is a single contiguous multiply-add stream over each H*W plane.
#include "ops/batch_norm.h"

#include <cmath>

#include "autograd/function.h"
#include "tensor/parallel.h"

namespace cardinal {
namespace {

struct BatchNorm2dBackward : Node {
    Tensor saved_x_, saved_weight_;  // weight may be undefined (no affine)
    std::vector<double> saved_mean_, saved_rstd_;
    bool training_ = true;
    std::string name() const override { return "BatchNorm2dBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override;
    void release() override { saved_x_ = saved_weight_ = Tensor(); }
};

// Sum of p[0..n) accumulated in double (contiguous, vectorised).
template <typename T>
double plane_sum(const T* p, int64_t n) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) s += p[i];
    return s;
}

// Per-channel mean and biased variance (two passes: the second around the exact mean).
template <typename T>
void channel_moments(const T* x, int64_t N, int64_t C, int64_t HW, std::vector<double>& mean,
                     std::vector<double>& var) {
    const double n = static_cast<double>(N * HW);
#pragma omp parallel for schedule(static) if (N * C * HW >= kParallelGrain)
    for (int64_t c = 0; c < C; ++c) {
        double s = 0;
        for (int64_t b = 0; b < N; ++b) s += plane_sum(x + (b * C + c) * HW, HW);
        const double m = s / n;
        const T mt = static_cast<T>(m);
        double sq = 0, shift = 0;  // shift corrects for rounding m to T
        for (int64_t b = 0; b < N; ++b) {
            const T* p = x + (b * C + c) * HW;
#pragma omp simd reduction(+ : sq, shift)
            for (int64_t i = 0; i < HW; ++i) {
                const double d = static_cast<double>(p[i] - mt);
                sq += d * d;
                shift += d;
            }
        }
        mean[c] = m;
        var[c] = std::max(0.0, sq / n - (shift / n) * (shift / n));
    }
}

// y = (x - mean_c) * scale_c + shift_c over every plane.
template <typename T>
void normalize(const T* x, T* y, int64_t N, int64_t C, int64_t HW, const std::vector<double>& mean,
               const std::vector<double>& scale, const std::vector<double>& shift) {
#pragma omp parallel for schedule(static) if (N * C * HW >= kParallelGrain)
    for (int64_t plane = 0; plane < N * C; ++plane) {
        const int64_t c = plane % C;
        const T m = static_cast<T>(mean[c]), a = static_cast<T>(scale[c]);
        const T k = static_cast<T>(shift[c]);
        const T* p = x + plane * HW;
        T* q = y + plane * HW;
#pragma omp simd
        for (int64_t i = 0; i < HW; ++i) q[i] = (p[i] - m) * a + k;
    }
}

template <typename T>
T param(const Tensor& t, int64_t c, T fallback) {
    return t.defined() ? t.data<T>()[c * t.stride(0)] : fallback;
}

template <typename T>
Tensor forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& rm,
               const Tensor& rv, bool training, double momentum, double eps,
               std::vector<double>& mean, std::vector<double>& rstd) {
    const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
    const T* xp = x.data<T>();
    std::vector<double> var(C);
    mean.assign(C, 0.0);
    if (training) {
        channel_moments(xp, N, C, HW, mean, var);
        if (rm.defined()) {  // in place and unrecorded: running stats are buffers, not inputs
            const double n = static_cast<double>(N * HW);
            T* rmp = rm.data<T>();
            T* rvp = rv.data<T>();
            for (int64_t c = 0; c < C; ++c) {
                T& m_ref = rmp[c * rm.stride(0)];
                T& v_ref = rvp[c * rv.stride(0)];
                m_ref = static_cast<T>((1 - momentum) * m_ref + momentum * mean[c]);
                v_ref = static_cast<T>((1 - momentum) * v_ref + momentum * var[c] * n / (n - 1));
            }
        }
    } else {
        for (int64_t c = 0; c < C; ++c) {
            mean[c] = rm.data<T>()[c * rm.stride(0)];
            var[c] = rv.data<T>()[c * rv.stride(0)];
        }
    }
    rstd.resize(C);
    std::vector<double> scale(C), shift(C);
    for (int64_t c = 0; c < C; ++c) {
        rstd[c] = 1.0 / std::sqrt(var[c] + eps);
        scale[c] = param<T>(weight, c, T(1)) * rstd[c];
        shift[c] = param<T>(bias, c, T(0));
    }
    Tensor y = empty(x.shape(), x.dtype());
    normalize(xp, y.data<T>(), N, C, HW, mean, scale, shift);
    return y;
}

template <typename T>
std::vector<Tensor> backward(const BatchNorm2dBackward& node, const Tensor& grad_y) {
    const Tensor& x = node.saved_x_;
    const Tensor g = grad_y.contiguous();
    const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
    const double n = static_cast<double>(N * HW);
    const T* xp = x.data<T>();
    const T* gp = g.data<T>();
    const auto& mean = node.saved_mean_;
    const auto& rstd = node.saved_rstd_;

    // S_g and S_gx per channel (eval grad_x does not need them).
    std::vector<double> s_g(C), s_gx(C);
    const bool need_sums = node.training_ || node.needs_input_grad(1) || node.needs_input_grad(2);
#pragma omp parallel for schedule(static) if (need_sums && N * C * HW >= kParallelGrain)
    for (int64_t c = 0; c < (need_sums ? C : 0); ++c) {
        const T m = static_cast<T>(mean[c]);
        double sg = 0, sgd = 0;
        for (int64_t b = 0; b < N; ++b) {
            const T* xq = xp + (b * C + c) * HW;
            const T* gq = gp + (b * C + c) * HW;
#pragma omp simd reduction(+ : sg, sgd)
            for (int64_t i = 0; i < HW; ++i) {
                sg += gq[i];
                sgd += static_cast<double>(gq[i]) * static_cast<double>(xq[i] - m);
            }
        }
        s_g[c] = sg;
        s_gx[c] = sgd * rstd[c];
    }

    Tensor grad_x, grad_w, grad_b;
    if (node.needs_input_grad(0)) {
        std::vector<double> a(C), bcoef(C), k(C);
        for (int64_t c = 0; c < C; ++c) {
            const double w = param<T>(node.saved_weight_, c, T(1));
            a[c] = w * rstd[c];
            bcoef[c] = node.training_ ? -a[c] * rstd[c] * s_gx[c] / n : 0.0;
            k[c] = node.training_ ? -a[c] * s_g[c] / n : 0.0;
        }
        grad_x = empty(x.shape(), x.dtype());
        T* dx = grad_x.data<T>();
#pragma omp parallel for schedule(static) if (N * C * HW >= kParallelGrain)
        for (int64_t plane = 0; plane < N * C; ++plane) {
            const int64_t c = plane % C;
            const T m = static_cast<T>(mean[c]), ac = static_cast<T>(a[c]);
            const T bc = static_cast<T>(bcoef[c]), kc = static_cast<T>(k[c]);
            const T* xq = xp + plane * HW;
            const T* gq = gp + plane * HW;
            T* dq = dx + plane * HW;
#pragma omp simd
            for (int64_t i = 0; i < HW; ++i) dq[i] = ac * gq[i] + bc * (xq[i] - m) + kc;
        }
    }
    if (node.needs_input_grad(1)) {
        grad_w = empty({C}, x.dtype());
        for (int64_t c = 0; c < C; ++c) grad_w.data<T>()[c] = static_cast<T>(s_gx[c]);
    }
    if (node.needs_input_grad(2)) {
        grad_b = empty({C}, x.dtype());
        for (int64_t c = 0; c < C; ++c) grad_b.data<T>()[c] = static_cast<T>(s_g[c]);
    }
    return {grad_x, grad_w, grad_b};
}

std::vector<Tensor> BatchNorm2dBackward::apply(std::vector<Tensor>&& g) {
    return dispatch_floating(saved_x_.dtype(), "batch_norm2d backward",
                             [&](auto tag) { return backward<decltype(tag)>(*this, g[0]); });
}

void check_channel_tensor(const Tensor& t, const char* what, const Tensor& x) {
    if (!t.defined()) return;
    check<ShapeError>(t.dim() == 1 && t.size(0) == x.size(1), "batch_norm2d: ", what,
                      " must have shape [", x.size(1), "] for input ", shape_str(x.shape()),
                      ", got ", shape_str(t.shape()));
    check<DTypeError>(t.dtype() == x.dtype(), "batch_norm2d: ", what, " is ", dtype_name(t.dtype()),
                      " but the input is ", dtype_name(x.dtype()));
}

}  // namespace

Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                    const Tensor& running_mean, const Tensor& running_var, bool training,
                    double momentum, double eps) {
    check<Error>(x.defined(), "batch_norm2d: the input is undefined");
    check<ShapeError>(x.dim() == 4, "batch_norm2d: expected a 4-d input [N, C, H, W], got ",
                      shape_str(x.shape()));
    check<DTypeError>(is_floating(x.dtype()),
                      "batch_norm2d: expected a float32 or float64 input, got ",
                      dtype_name(x.dtype()));
    check_channel_tensor(weight, "weight", x);
    check_channel_tensor(bias, "bias", x);
    check_channel_tensor(running_mean, "running_mean", x);
    check_channel_tensor(running_var, "running_var", x);
    check<ValueError>(running_mean.defined() == running_var.defined(),
                      "batch_norm2d: running_mean and running_var must be given together");
    check<ValueError>(training || running_mean.defined(),
                      "batch_norm2d: eval mode needs running_mean and running_var");
    check<ValueError>(eps >= 0 && std::isfinite(eps), "batch_norm2d: eps must be >= 0, got ", eps);
    check<ValueError>(momentum >= 0 && momentum <= 1,
                      "batch_norm2d: momentum must be in [0, 1], got ", momentum);
    if (training)
        check<ValueError>(x.size(0) * x.size(2) * x.size(3) > 1,
                          "batch_norm2d: expected more than 1 value per channel when training, got "
                          "input of shape ",
                          shape_str(x.shape()));

    const Tensor xc = x.contiguous();
    std::vector<double> mean, rstd;
    Tensor y = dispatch_floating(x.dtype(), "batch_norm2d", [&](auto tag) {
        return forward<decltype(tag)>(xc, weight, bias, running_mean, running_var, training,
                                      momentum, eps, mean, rstd);
    });
    if (auto node = make_node<BatchNorm2dBackward>({x, weight, bias})) {
        node->saved_x_ = save(xc);
        node->saved_weight_ = save(weight);
        node->saved_mean_ = std::move(mean);
        node->saved_rstd_ = std::move(rstd);
        node->training_ = training;
        record(node, {y});
    }
    return y;
}

}  // namespace cardinal
