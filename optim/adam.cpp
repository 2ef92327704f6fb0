#include "optim/adam.h"

#include <cmath>

#include "tensor/parallel.h"

namespace cardinal {
namespace {

struct AdamStep {
    double lr, weight_decay, beta1, beta2, eps;
    double step_size;   // lr / (1 - b1^t)
    double bias2_sqrt;  // sqrt(1 - b2^t)
    bool decoupled;
};

template <typename T>
void adam_update(T* p, const T* grad, T* m, T* v, T* v_max, int64_t n, const AdamStep& s) {
    const T b1 = static_cast<T>(s.beta1), b2 = static_cast<T>(s.beta2);
    const T one_b1 = static_cast<T>(1.0 - s.beta1), one_b2 = static_cast<T>(1.0 - s.beta2);
    const T wd = static_cast<T>(s.weight_decay), eps = static_cast<T>(s.eps);
    const T shrink = static_cast<T>(1.0 - s.lr * s.weight_decay);
    const T step_size = static_cast<T>(s.step_size), bias2_sqrt = static_cast<T>(s.bias2_sqrt);
    const bool decoupled = s.decoupled;
#pragma omp parallel for simd schedule(static) if (n >= kParallelGrain)
    for (int64_t i = 0; i < n; ++i) {
        T g = grad[i];
        T x = p[i];
        if (decoupled)
            x *= shrink;
        else
            g += wd * x;
        T mi = b1 * m[i] + one_b1 * g;
        T vi = b2 * v[i] + one_b2 * g * g;
        m[i] = mi;
        v[i] = vi;
        if (v_max) {
            vi = v_max[i] > vi ? v_max[i] : vi;
            v_max[i] = vi;
        }
        T denom = std::sqrt(vi) / bias2_sqrt + eps;
        p[i] = x - step_size * mi / denom;
    }
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options)
    : Adam(std::vector<ParamGroup>{ParamGroup{std::move(params), {}, {}}}, options, false) {}

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& options)
    : Adam(std::move(groups), options, false) {}

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& options, bool decoupled)
    : Optimizer(std::move(groups), options.lr, options.weight_decay),
      options_(options),
      decoupled_(decoupled) {
    validate();
}

AdamW::AdamW(std::vector<Tensor> params, const AdamOptions& options)
    : Adam(std::vector<ParamGroup>{ParamGroup{std::move(params), {}, {}}}, options, true) {}

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamOptions& options)
    : Adam(std::move(groups), options, true) {}

void Adam::validate() const {
    const AdamOptions& o = options_;
    check<ValueError>(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, name(),
                      ": betas must be in [0, 1), got (", o.beta1, ", ", o.beta2, ")");
    check<ValueError>(o.eps >= 0, name(), ": eps must be >= 0, got ", o.eps);
}

void Adam::update(const Group& group, int64_t index, const Tensor& p, const Tensor& g) {
    Tensor& step_t = state(index, "step");
    Tensor& m = state(index, "exp_avg");
    Tensor& v = state(index, "exp_avg_sq");
    if (!step_t.defined()) step_t = scalar_tensor(0.0, DType::Float64);
    if (!m.defined()) m = zeros(p.shape(), p.dtype());
    if (!v.defined()) v = zeros(p.shape(), p.dtype());
    Tensor v_max;
    if (options_.amsgrad) {
        Tensor& slot = state(index, "max_exp_avg_sq");
        if (!slot.defined()) slot = zeros(p.shape(), p.dtype());
        v_max = slot;
    }
    double t = *step_t.data<double>() + 1.0;
    *step_t.data<double>() = t;
    AdamStep s{group.lr,
               group.weight_decay,
               options_.beta1,
               options_.beta2,
               options_.eps,
               group.lr / (1.0 - std::pow(options_.beta1, t)),
               std::sqrt(1.0 - std::pow(options_.beta2, t)),
               decoupled_};
    dispatch_floating(p.dtype(), name(), [&](auto tag) {
        using T = decltype(tag);
        p.storage()->bump_version();  // caches derived from p (reordered weights) go stale
        adam_update<T>(p.data<T>(), g.data<T>(), m.data<T>(), v.data<T>(),
                       v_max.defined() ? v_max.data<T>() : nullptr, p.numel(), s);
    });
}

std::vector<std::pair<std::string, double>> Adam::options() const {
    return {{"beta1", options_.beta1},
            {"beta2", options_.beta2},
            {"eps", options_.eps},
            {"amsgrad", options_.amsgrad ? 1.0 : 0.0}};
}

void Adam::set_option(const std::string& name, double value) {
    if (name == "beta1")
        options_.beta1 = value;
    else if (name == "beta2")
        options_.beta2 = value;
    else if (name == "eps")
        options_.eps = value;
    else if (name == "amsgrad")
        options_.amsgrad = value != 0;
    else
        fail<ValueError>(this->name(), ": unknown option '", name, "'");
    validate();
}

}  // namespace cardinal
