#include "nn/blocks/se.h"

#include "nn/blocks/channels.h"
#include "nn/layers/activation.h"
#include "nn/layers/basic.h"
#include "nn/layers/conv_bn_fold.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/channel_gates.h"
#include "ops/reduction.h"
#include "ops/shape_ops.h"

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

Tensor SEModule::forward(const Tensor& x) { return forward_fused(x); }

Tensor SEModule::forward_fused(const Tensor& x, const Tensor& residual, bool relu) {
    check<ShapeError>(x.dim() == 4 && x.size(1) == channels_, "SEModule(", channels_,
                      "): expected input [B, ", channels_, ", H, W], got ", describe(x));
    const bool fused = pixel_major(x) && (!residual.defined() || (pixel_major(residual) && residual.shape() == x.shape() &&
                                                                   (residual.dtype() == x.dtype() ||
                                                                    (x.dtype() == DType::BFloat16 &&
                                                                     residual.dtype() == DType::Float32)))) &&
                       no_grad_wanted(*this, {x, residual});
    if (fused) {
        // The same math on [B, C] rows: the gate is sigmoid(fc2(relu(fc1(mean(x))))).
        Tensor s = gate_fc(pool_sum({x}), fc1_->weight(), fc1_->bias(), 1, true);
        s = sigmoid(gate_fc(s, fc2_->weight(), fc2_->bias(), 1, false));
        return gated_sum({x}, s.reshape({x.size(0), 1, channels_}), residual, relu);
    }
    const int64_t b = x.size(0);
    Tensor s = reshape(split_pool(x, 1), {b, channels_, 1, 1});
    s = sigmoid(fc2_->forward(cardinal::relu(fc1_->forward(s))));
    Tensor y = split_gated_sum(x, reshape(s, {b, 1, channels_}), 1);
    if (!residual.defined()) return relu ? cardinal::relu(y) : y;
    return relu ? add_relu(y, residual) : y + residual;
}

ModulePtr make_attn(const AttnConfig& config, int64_t channels, Generator* gen) {
    if (config.name.empty()) return nullptr;
    if (config.name == "se") return std::make_shared<SEModule>(channels, config.rd_ratio, config.rd_divisor, gen);
    fail<ValueError>("make_attn: unknown attention layer '", config.name, "' (expected \"se\" or none)");
}

}  // namespace cardinal
