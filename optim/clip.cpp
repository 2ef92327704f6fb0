#include "optim/clip.h"

#include <cmath>

#include "autograd/variable.h"
#include "tensor/kernels.h"

namespace cardinal {
namespace {

// Sum of squares (p = 2) or max |x| (p = inf) of one gradient, accumulated in double.
double grad_reduce(const Tensor& g, bool inf_norm) {
    Tensor c = g.contiguous();
    return dispatch_floating(c.dtype(), "clip_grad_norm_", [&](auto tag) {
        using T = decltype(tag);
        const T* x = c.data<T>();
        double acc = 0;
        const int64_t n = c.numel();
        if (inf_norm) {
            for (int64_t i = 0; i < n; ++i)
                acc = std::max(acc, std::abs(static_cast<double>(x[i])));
        } else {
#pragma omp simd reduction(+ : acc)
            for (int64_t i = 0; i < n; ++i) acc += static_cast<double>(x[i]) * x[i];
        }
        return acc;
    });
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type) {
    const bool inf_norm = std::isinf(norm_type) && norm_type > 0;
    check<ValueError>(inf_norm || norm_type == 2.0,
                      "clip_grad_norm_: norm_type must be 2 or infinity, got ", norm_type);
    check<ValueError>(max_norm >= 0, "clip_grad_norm_: max_norm must be >= 0, got ", max_norm);
    std::vector<Tensor> with_grad, grads;
    for (const Tensor& p : params) {
        Tensor g = grad(p);
        if (g.defined()) {
            with_grad.push_back(p);
            grads.push_back(g);
        }
    }
    double acc = 0;
    for (const Tensor& g : grads) {
        double r = grad_reduce(g, inf_norm);
        acc = inf_norm ? std::max(acc, r) : acc + r;
    }
    const double total = inf_norm ? acc : std::sqrt(acc);
    const double coef = max_norm / (total + 1e-6);
    if (coef < 1.0) {
        for (size_t i = 0; i < grads.size(); ++i) {
            // A gradient may be a broadcast view (stride 0) that must not be scaled in place.
            if (grads[i].is_contiguous())
                kernels::mul_scalar_(grads[i], coef);
            else
                set_grad(with_grad[i], kernels::mul_scalar(grads[i], coef));
        }
    }
    return total;
}

}  // namespace cardinal
