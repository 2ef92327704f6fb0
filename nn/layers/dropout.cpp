#include "nn/layers/dropout.h"

#include <cstdio>

#include "nn/layers/repr.h"
#include "ops/dropout.h"

namespace cardinal {
namespace {

void check_p(const char* layer, double p) {
    check<ValueError>(p >= 0.0 && p < 1.0, layer, ": drop probability must be in [0, 1), got ", p);
}

}  // namespace

Dropout::Dropout(double p, Generator* gen) : p_(p), gen_(gen) { check_p("Dropout", p); }
Tensor Dropout::forward(const Tensor& x) { return dropout(x, p_, is_training(), gen_); }
std::string Dropout::extra_repr() const { return "p=" + float_repr(p_) + ", inplace=False"; }

DropBlock2d::DropBlock2d(double p, int64_t block_size, Generator* gen)
    : p_(p), block_size_(block_size), gen_(gen) {
    check_p("DropBlock2d", p);
    check<ValueError>(block_size > 0, "DropBlock2d: block_size must be positive, got ", block_size);
}
Tensor DropBlock2d::forward(const Tensor& x) { return drop_block2d(x, p_, block_size_, is_training(), gen_); }
std::string DropBlock2d::extra_repr() const {
    return "drop_prob=" + float_repr(p_) + ", block_size=" + std::to_string(block_size_);
}

DropPath::DropPath(double p, Generator* gen) : p_(p), gen_(gen) { check_p("DropPath", p); }
Tensor DropPath::forward(const Tensor& x) { return drop_path(x, p_, is_training(), gen_); }
std::string DropPath::extra_repr() const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "drop_prob=%.3f", p_);  // timm's format
    return buf;
}

}  // namespace cardinal
