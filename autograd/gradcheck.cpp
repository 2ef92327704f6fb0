#include "autograd/gradcheck.h"

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
double projected(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const std::vector<Tensor>& vs) {
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

bool close(double numeric, double analytic, const GradcheckOptions& o) {
    return std::fabs(numeric - analytic) <= o.atol + o.rtol * std::fabs(numeric);
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
    int64_t compared = 0;
    for (int c = 0; c < opt.cotangents; ++c) {
        // Analytic: one backward of sum <v, f(x)>.
        for (size_t i : checked) zero_grad(inputs[i]);
        std::vector<Tensor> outs = fn(inputs);
        std::vector<Tensor> vs, roots;
        for (const Tensor& o : outs) {
            if (!o.defined() || !is_floating(o.dtype())) {
                vs.push_back(Tensor());
                continue;
            }
            vs.push_back(randn(o.shape(), DType::Float64, &gen));
            if (requires_grad(o)) roots.push_back(o);
        }
        std::vector<Tensor> root_grads;
        for (size_t k = 0, r = 0; k < outs.size() && r < roots.size(); ++k)
            if (vs[k].defined() && requires_grad(outs[k])) {
                root_grads.push_back(vs[k]);
                ++r;
            }
        if (!roots.empty()) backward(roots, root_grads);
        std::vector<std::vector<double>> analytic;
        for (size_t i : checked) {
            Tensor g = grad(inputs[i]);
            analytic.push_back(g.defined() ? g.to_vector() : std::vector<double>(inputs[i].numel(), 0.0));
        }

        if (!opt.fast_mode) {
            for (size_t a = 0; a < checked.size(); ++a) {
                const Tensor& x = inputs[checked[a]];
                double* p = x.data<double>();
                for (int64_t j = 0; j < x.numel(); ++j) {
                    const double orig = p[j];
                    p[j] = orig + opt.eps;
                    double lp = projected(fn, inputs, vs);
                    p[j] = orig - opt.eps;
                    double lm = projected(fn, inputs, vs);
                    p[j] = orig;
                    double numeric = (lp - lm) / (2 * opt.eps);
                    ++compared;
                    if (!close(numeric, analytic[a][j], opt)) {
                        std::ostringstream os;
                        os << "gradcheck: mismatch for input " << checked[a] << " (" << describe(x)
                           << "), element " << index_str(x.shape(), j) << ": numeric " << numeric
                           << " vs analytic " << analytic[a][j] << " (atol " << opt.atol << ", rtol "
                           << opt.rtol << ", cotangent " << c << ")";
                        return {false, os.str()};
                    }
                }
            }
        } else {
            for (int d = 0; d < opt.fast_directions; ++d) {
                std::vector<Tensor> us;
                double analytic_dir = 0;
                for (size_t a = 0; a < checked.size(); ++a) {
                    us.push_back(randn(inputs[checked[a]].shape(), DType::Float64, &gen));
                    std::vector<double> u = us.back().to_vector();
                    for (size_t j = 0; j < u.size(); ++j) analytic_dir += u[j] * analytic[a][j];
                }
                auto shift = [&](double s) {
                    for (size_t a = 0; a < checked.size(); ++a) {
                        double* p = inputs[checked[a]].data<double>();
                        const double* u = us[a].data<double>();
                        for (int64_t j = 0; j < us[a].numel(); ++j) p[j] += s * u[j];
                    }
                };
                shift(opt.eps);
                double lp = projected(fn, inputs, vs);
                shift(-2 * opt.eps);
                double lm = projected(fn, inputs, vs);
                shift(opt.eps);
                double numeric = (lp - lm) / (2 * opt.eps);
                ++compared;
                if (!close(numeric, analytic_dir, opt)) {
                    std::ostringstream os;
                    os << "gradcheck (fast mode): mismatch along random direction " << d
                       << ": numeric " << numeric << " vs analytic " << analytic_dir;
                    return {false, os.str()};
                }
            }
        }
    }
    for (size_t i : checked) zero_grad(inputs[i]);
    result.message = "gradcheck: " + std::to_string(compared) + " comparisons passed";
    return result;
}

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
    return gradcheck(GradcheckFn([&](const std::vector<Tensor>& xs) { return std::vector<Tensor>{fn(xs)}; }),
                     inputs, options);
}

}  // namespace cardinal
