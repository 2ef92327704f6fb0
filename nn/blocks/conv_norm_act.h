// ConvNormAct (timm): conv (no bias) -> bn -> optional ReLU. Names: conv.weight, bn.*.
#pragma once
#include "nn/layers/batch_norm.h"
#include "nn/layers/conv.h"
#include "nn/module.h"

namespace cardinal {

class ConvNormAct : public Module {
public:
    // `conv` must have bias(false); its out channels size the BN.
    ConvNormAct(Conv2dOptions conv, bool apply_act = true, Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "ConvNormAct"; }

    const std::shared_ptr<Conv2d>& conv() const { return conv_; }
    const std::shared_ptr<BatchNorm2d>& bn() const { return bn_; }

private:
    std::shared_ptr<Conv2d> conv_;
    std::shared_ptr<BatchNorm2d> bn_;
    bool apply_act_;
};

}  // namespace cardinal
