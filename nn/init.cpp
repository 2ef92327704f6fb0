#include "nn/init.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "tensor/allocator.h"

namespace cardinal::init {
namespace {

int64_t receptive_field(const Tensor& w) {
    check<ShapeError>(w.dim() >= 2, "init: fan needs a weight of rank >= 2, got ", describe(w));
    int64_t r = 1;
    for (int64_t d = 2; d < w.dim(); ++d) r *= w.size(d);
    return r;
}

int64_t fan(const Tensor& w, FanMode mode) { return mode == FanMode::FanIn ? fan_in(w) : fan_out(w); }

void check_float(const Tensor& t, const char* what) {
    check<DTypeError>(is_floating(t.dtype()), "init::", what, ": expected a floating tensor, got ",
                      describe(t));
}

}  // namespace

int64_t fan_in(const Tensor& w) {
    int64_t r = receptive_field(w);  // checks the rank first
    return w.size(1) * r;
}
int64_t fan_out(const Tensor& w) {
    int64_t r = receptive_field(w);
    return w.size(0) * r;
}

void uniform_(const Tensor& t, double low, double high, Generator* gen) {
    check_float(t, "uniform_");
    NoGradGuard guard;
    ReturnFreedBlocks scratch;  // the float64 draw is freed below and never asked for again
    t.copy_(uniform(t.shape(), low, high, DType::Float64, gen));
}

void normal_(const Tensor& t, double mean, double std, Generator* gen) {
    check_float(t, "normal_");
    NoGradGuard guard;
    ReturnFreedBlocks scratch;  // the float64 draw is freed below and never asked for again
    t.copy_(normal(t.shape(), mean, std, DType::Float64, gen));
}

void constant_(const Tensor& t, double value) {
    NoGradGuard guard;
    t.fill_(value);
}
void ones_(const Tensor& t) { constant_(t, 1.0); }
void zeros_(const Tensor& t) { constant_(t, 0.0); }

void kaiming_normal_(const Tensor& w, FanMode mode, double a, Generator* gen) {
    double gain = std::sqrt(2.0 / (1.0 + a * a));
    normal_(w, 0.0, gain / std::sqrt(static_cast<double>(fan(w, mode))), gen);
}

void kaiming_uniform_(const Tensor& w, FanMode mode, double a, Generator* gen) {
    double gain = std::sqrt(2.0 / (1.0 + a * a));
    double bound = gain * std::sqrt(3.0 / static_cast<double>(fan(w, mode)));
    uniform_(w, -bound, bound, gen);
}

void conv_weight_(const Tensor& w, Generator* gen) { kaiming_normal_(w, FanMode::FanOut, 0.0, gen); }

void conv_bias_(const Tensor& b, const Tensor& w, Generator* gen) {
    double bound = 1.0 / std::sqrt(static_cast<double>(fan_in(w)));
    uniform_(b, -bound, bound, gen);
}

void linear_weight_(const Tensor& w, Generator* gen) {
    kaiming_uniform_(w, FanMode::FanIn, std::sqrt(5.0), gen);
}

void linear_bias_(const Tensor& b, const Tensor& w, Generator* gen) { conv_bias_(b, w, gen); }

}  // namespace cardinal::init
