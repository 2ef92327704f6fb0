#include "autograd/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/variable.h"
#include "tensor/random.h"

namespace cardinal {
namespace {

std::string index_str(const Shape& shape, int64_t flat) {
    Shape idx(shape.size());
    for (size_t d = shape.size(); d-- > 0;) {
        idx[d] = flat % std::max<int64_t>(shape[d], 1);
        flat /= std::max<int64_t>(shape[d], 1);
    }
    return shape_str(idx);
}

// L = sum_k <v_k, f_k(x)>, in double, without recording.
double projected(const GradcheckFn& fn, const std::vector<Tensor>& inputs,
                 const std::vector<Tensor>& vs) {
    NoGradGuard no_grad;
    std::vector<Tensor> outs = fn(inputs);
    double total = 0;
    for (size_t k = 0; k < outs.size(); ++k) {
        if (!outs[k].defined() || !is_floating(outs[k].dtype())) continue;
        std::vector<double> o = outs[k].to_vector(), v = vs[k].to_vector();
        for (size_t i = 0; i < o.size(); ++i) total += o[i] * v[i];
    }
    return total;
}

// Folds one numeric-vs-analytic comparison into `st`; returns whether it passed.
bool compare(double numeric, double analytic, const std::string& where, const GradcheckOptions& o,
             GradcheckInputStats& st) {
    const double err = std::fabs(numeric - analytic);
    const double allowed = o.atol + o.rtol * std::fabs(numeric);
    const double severity = err / allowed;
    const double worst_severity = std::fabs(st.worst_numeric - st.worst_analytic) /
                                  (o.atol + o.rtol * std::fabs(st.worst_numeric));
    ++st.compared;
    st.max_abs_error = std::max(st.max_abs_error, err);
    st.max_rel_error = std::max(st.max_rel_error, err / std::max(std::fabs(numeric), o.atol));
    if (st.worst.empty() || severity > worst_severity) {
        st.worst = where;
        st.worst_numeric = numeric;
        st.worst_analytic = analytic;
    }
    const bool ok = err <= allowed;
    if (!ok) ++st.mismatches;
    return ok;
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opt) {
    std::vector<size_t> checked;
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].defined() || !requires_grad(inputs[i])) continue;
        check<DTypeError>(inputs[i].dtype() == DType::Float64, "gradcheck: input ", i, " is ",
                          describe(inputs[i]), "; gradcheck needs float64");
        check<ValueError>(inputs[i].is_contiguous(), "gradcheck: input ", i, " must be contiguous");
        checked.push_back(i);
    }
    check<ValueError>(!checked.empty(), "gradcheck: no input requires grad");

    Generator gen(opt.seed);
    GradcheckResult result;
    for (size_t i : checked) result.inputs.push_back(GradcheckInputStats{.input = i});
    std::string first_mismatch;
    for (int c = 0; c < opt.cotangents; ++c) {
        // Analytic: one backward of sum <v, f(x)>.
        for (size_t i : checked) zero_grad(inputs[i]);
        std::vector<Tensor> outs = fn(inputs);
        std::vector<Tensor> vs, roots, root_grads;
        for (const Tensor& o : outs) {
            if (!o.defined() || !is_floating(o.dtype())) {
                vs.push_back(Tensor());
                continue;
            }
            vs.push_back(randn(o.shape(), DType::Float64, &gen));
            if (requires_grad(o)) {
                roots.push_back(o);
                root_grads.push_back(vs.back());
            }
        }
        if (!roots.empty()) backward(roots, root_grads);

        for (size_t a = 0; a < checked.size(); ++a) {
            const Tensor& x = inputs[checked[a]];
            Tensor g = grad(x);
            const std::vector<double> analytic =
                g.defined() ? g.to_vector() : std::vector<double>(x.numel(), 0.0);
            GradcheckInputStats& st = result.inputs[a];
            double* p = x.data<double>();
            auto report = [&](const std::string& where, double numeric, double an) {
                if (compare(numeric, an, where, opt, st) || !first_mismatch.empty()) return;
                std::ostringstream os;
                os << "gradcheck" << (opt.fast_mode ? " (fast mode)" : "")
                   << ": mismatch for input " << checked[a] << " (" << describe(x) << "), " << where
                   << ": numeric " << numeric << " vs analytic " << an << " (atol " << opt.atol
                   << ", rtol " << opt.rtol << ", cotangent " << c << ")";
                first_mismatch = os.str();
            };
            if (!opt.fast_mode) {
                for (int64_t j = 0; j < x.numel(); ++j) {
                    // Every write goes through the version counter, so caches derived from x
                    // (folded BatchNorm, reordered weights) see the perturbation.
                    const double orig = p[j];
                    p[j] = orig + opt.eps;
                    x.storage()->bump_version();
                    const double lp = projected(fn, inputs, vs);
                    p[j] = orig - opt.eps;
                    x.storage()->bump_version();
                    const double lm = projected(fn, inputs, vs);
                    p[j] = orig;
                    x.storage()->bump_version();
                    report("element " + index_str(x.shape(), j), (lp - lm) / (2 * opt.eps),
                           analytic[j]);
                }
                continue;
            }
            // Fast: along random directions u of this input, numeric <u, dL/dx> vs sum u *
            // analytic.
            for (int d = 0; d < opt.fast_directions; ++d) {
                // Unit length: a step moves the tensor as far as one element step in full mode,
                // so a ReLU or max near its kink is no likelier to be crossed.
                const Tensor u_t = randn(x.shape(), DType::Float64, &gen);
                double* u = u_t.data<double>();
                double length = 0;
                for (int64_t j = 0; j < x.numel(); ++j) length += u[j] * u[j];
                length = std::sqrt(length);
                for (int64_t j = 0; j < x.numel(); ++j) u[j] /= length;
                double analytic_dir = 0;
                for (int64_t j = 0; j < x.numel(); ++j) analytic_dir += u[j] * analytic[j];
                auto shift = [&](double s) {
                    for (int64_t j = 0; j < x.numel(); ++j) p[j] += s * u[j];
                    x.storage()->bump_version();  // caches derived from x see the change
                };
                shift(opt.eps);
                const double lp = projected(fn, inputs, vs);
                shift(-2 * opt.eps);
                const double lm = projected(fn, inputs, vs);
                shift(opt.eps);
                report("random direction " + std::to_string(d), (lp - lm) / (2 * opt.eps),
                       analytic_dir);
            }
        }
    }
    for (size_t i : checked) zero_grad(inputs[i]);
    int64_t compared = 0;
    for (const GradcheckInputStats& st : result.inputs) compared += st.compared;
    result.ok = first_mismatch.empty();
    result.message = result.ok ? "gradcheck: " + std::to_string(compared) + " comparisons passed"
                               : first_mismatch;
    return result;
}

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
    return gradcheck(
        GradcheckFn([&](const std::vector<Tensor>& xs) { return std::vector<Tensor>{fn(xs)}; }),
        inputs, options);
}

}  // namespace cardinal
