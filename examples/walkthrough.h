// Shared by the backprop_* walkthroughs: watch the engine run (autograd/hooks.h), name the
// nodes after the forward steps that made them, and print each gradient next to its closed
// form with the size of the difference.
//
// Everything is float64 on one thread with fixed seeds, so the output is the same on every
// run (tests/examples compares it with the copy printed in docs/backprop/).
#pragma once
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "autograd/hooks.h"
#include "autograd/variable.h"
#include "nn/module.h"
#include "tensor/kernels.h"
#include "tensor/parallel.h"

namespace walkthrough {

using cardinal::Tensor;

// The size of a difference as a power of ten, so the printout does not depend on the last bit.
inline std::string error_size(double e) {
    if (e == 0) return "0 (exact)";
    if (!std::isfinite(e)) return "not finite";
    const int exponent = static_cast<int>(std::ceil(std::log10(e)));
    char buf[32];
    std::snprintf(buf, sizeof buf, "< 1e%d", exponent);
    return buf;
}

inline double largest_diff(const Tensor& a, const Tensor& b) {
    std::vector<double> x = a.contiguous().to_vector(), y = b.contiguous().to_vector();
    if (x.size() != y.size()) return INFINITY;
    double m = 0;
    for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
    return m;
}

inline double norm(const Tensor& t) {
    double s = 0;
    for (double v : t.contiguous().to_vector()) s += v * v;
    return std::sqrt(s);
}

// Records, for every node the engine runs, its execution index, its name, what it computes
// (the label given in the forward) and the norms of the gradients it receives and returns.
class EngineTrace {
  public:
    EngineTrace()
        : observer_([this](const cardinal::BackwardEvent& e) {
              Step s{e.index, e.node.name(), label_of(&e.node), {}, {}};
              for (const Tensor& g : e.grad_outputs) s.in.push_back(g.defined() ? norm(g) : -1);
              for (const Tensor& g : e.grad_inputs) s.out.push_back(g.defined() ? norm(g) : -1);
              steps_.push_back(s);
          }) {}

    // The node that produced `t` is labelled `what` (e.g. "a = fc2(z)"); its gradient is kept.
    void name(const Tensor& t, const std::string& what) {
        labels_[cardinal::grad_fn(t).get()] = what;
        cardinal::retain_grad(t);
    }
    // A leaf (input or parameter): its AccumulateGrad node is labelled.
    void name_leaf(const Tensor& t, const std::string& what) {
        labels_[cardinal::gradient_edge(t).node.get()] = what;
    }

    void print() const {
        std::printf(
            "engine order (#index node: forward step; |received| -> |returned| gradient norms)\n");
        for (const Step& s : steps_) {
            std::printf("  #%-2lld %-22s %-34s", static_cast<long long>(s.index), s.node.c_str(),
                        s.label.c_str());
            std::printf(" |g_in| %s", join(s.in).c_str());
            if (!s.out.empty()) std::printf(" -> %s", join(s.out).c_str());
            std::printf("\n");
        }
    }

  private:
    struct Step {
        int64_t index;
        std::string node, label;
        std::vector<double> in, out;
    };
    std::string label_of(const cardinal::Node* n) const {
        auto it = labels_.find(n);
        return it == labels_.end() ? "" : it->second;
    }
    static std::string join(const std::vector<double>& v) {
        std::string s;
        char buf[32];
        for (double x : v) {
            if (x < 0)
                std::snprintf(buf, sizeof buf, "-");
            else
                std::snprintf(buf, sizeof buf, "%.6f", x);
            s += (s.empty() ? "" : ", ") + std::string(buf);
        }
        return s;
    }
    std::map<const cardinal::Node*, std::string> labels_;
    std::vector<Step> steps_;
    cardinal::BackwardObserver observer_;
};

// One line of the closed-form check: "dL/da  = s (1 - s) dL/ds   max |diff| < 1e-16".
// Returns whether the difference is at rounding level.
inline bool compare(const std::string& what, const std::string& formula, const Tensor& engine,
                    const Tensor& closed) {
    const double d = largest_diff(engine, closed);
    const bool ok = d < 1e-12;
    std::printf("  %-12s = %-44s max |engine - formula| %s%s\n", what.c_str(), formula.c_str(),
                error_size(d).c_str(), ok ? "" : "  MISMATCH");
    return ok;
}

// A value that must be (numerically) zero, e.g. a sum of softmax gradients.
inline bool expect_zero(const std::string& what, const Tensor& t) {
    double m = 0;
    for (double v : t.contiguous().to_vector()) m = std::max(m, std::fabs(v));
    const bool ok = m < 1e-12;
    std::printf("  %-59s max |.| %s%s\n", what.c_str(), error_size(m).c_str(),
                ok ? "" : "  MISMATCH");
    return ok;
}

// The tensor called `name` in a module's parameters or buffers.
inline Tensor find(const cardinal::NamedTensors& tensors, const std::string& name) {
    for (const auto& [key, t] : tensors)
        if (key == name) return t;
    cardinal::fail<cardinal::ValueError>("walkthrough: no tensor named ", name);
}

// dL/d(input) of a grouped 1x1 conv y = W x (+ b), given dL/dy: the transpose, group by group.
//   x [N, I], y [N, O], W [O, I/K]: dL/dx[n, k*I/K + i] = sum_{o in group k} W[o, i] dL/dy[n, o]
inline Tensor grouped_transpose(const Tensor& W, const Tensor& dy, int64_t N, int64_t I, int64_t O,
                                int64_t K) {
    std::vector<double> w = W.contiguous().to_vector(), d = dy.contiguous().to_vector(),
                        dx(N * I, 0.0);
    const int64_t ig = I / K, og = O / K;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t o = 0; o < O; ++o)
            for (int64_t i = 0; i < ig; ++i)
                dx[n * I + (o / og) * ig + i] += w[o * ig + i] * d[n * O + o];
    return cardinal::from_vector(dx, {N, I}, cardinal::DType::Float64);
}

// Train-mode BatchNorm backward over the N samples of a [N, F] input (1x1 maps: M = N):
//   dL/du = rstd * (dxh - mean_n(dxh) - xh * mean_n(dxh * xh)),  dxh = gamma * dL/db
inline Tensor batch_norm_backward(const Tensor& u, const Tensor& gamma, const Tensor& db, int64_t N,
                                  int64_t F, double eps) {
    std::vector<double> x = u.contiguous().to_vector(), g = gamma.to_vector(),
                        d = db.contiguous().to_vector();
    std::vector<double> du(N * F);
    for (int64_t f = 0; f < F; ++f) {
        double mean = 0, var = 0;
        for (int64_t n = 0; n < N; ++n) mean += x[n * F + f] / N;
        for (int64_t n = 0; n < N; ++n) var += (x[n * F + f] - mean) * (x[n * F + f] - mean) / N;
        const double rstd = 1 / std::sqrt(var + eps);
        double m1 = 0, m2 = 0;
        for (int64_t n = 0; n < N; ++n) {
            const double xh = (x[n * F + f] - mean) * rstd, dxh = g[f] * d[n * F + f];
            m1 += dxh / N;
            m2 += dxh * xh / N;
        }
        for (int64_t n = 0; n < N; ++n) {
            const double xh = (x[n * F + f] - mean) * rstd, dxh = g[f] * d[n * F + f];
            du[n * F + f] = rstd * (dxh - m1 - xh * m2);
        }
    }
    return cardinal::from_vector(du, {N, F}, cardinal::DType::Float64);
}

inline void single_thread() { cardinal::set_num_threads(1); }

}  // namespace walkthrough
