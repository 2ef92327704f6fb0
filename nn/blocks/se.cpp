#include "nn/blocks/se.h"

#include "nn/blocks/channels.h"
#include "nn/layers/activation.h"
#include "nn/layers/basic.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/reduction.h"

namespace cardinal {

SEModule::SEModule(int64_t channels, double rd_ratio, int64_t rd_divisor, Generator* gen)
    : channels_(channels) {
    check<ValueError>(channels > 0, "SEModule: channels must be positive, got ", channels);
    check<ValueError>(rd_ratio > 0, "SEModule: rd_ratio must be positive, got ", rd_ratio);
    check<ValueError>(rd_divisor > 0, "SEModule: rd_divisor must be positive, got ", rd_divisor);
    rd_ = make_divisible(static_cast<double>(channels) * rd_ratio, rd_divisor, 0, 0.0);
    fc1_ = register_module("fc1", std::make_shared<Conv2d>(Conv2dOptions(channels, rd_, 1), gen));
    register_module("bn", std::make_shared<Identity>());
    register_module("act", std::make_shared<ReLU>());
    fc2_ = register_module("fc2", std::make_shared<Conv2d>(Conv2dOptions(rd_, channels, 1), gen));
    register_module("gate", std::make_shared<Sigmoid>());
}

Tensor SEModule::forward(const Tensor& x) {
    check<ShapeError>(x.dim() == 4 && x.size(1) == channels_, "SEModule(", channels_,
                      "): expected input [B, ", channels_, ", H, W], got ", describe(x));
    Tensor s = mean(x, {2, 3}, true);
    s = sigmoid(fc2_->forward(relu(fc1_->forward(s))));
    return x * s;
}

ModulePtr make_attn(const AttnConfig& config, int64_t channels, Generator* gen) {
    if (config.name.empty()) return nullptr;
    if (config.name == "se") return std::make_shared<SEModule>(channels, config.rd_ratio, config.rd_divisor, gen);
    fail<ValueError>("make_attn: unknown attention layer '", config.name, "' (expected \"se\" or none)");
}

}  // namespace cardinal
