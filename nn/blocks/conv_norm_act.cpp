#include "nn/blocks/conv_norm_act.h"

#include "ops/activation.h"

namespace cardinal {

ConvNormAct::ConvNormAct(Conv2dOptions conv, bool apply_act, Generator* gen) : apply_act_(apply_act) {
    conv_ = register_module("conv", std::make_shared<Conv2d>(conv.bias(false), gen));
    bn_ = register_module("bn", std::make_shared<BatchNorm2d>(conv.out_channels()));
}

Tensor ConvNormAct::forward(const Tensor& x) {
    Tensor y = bn_->forward(conv_->forward(x));
    return apply_act_ ? relu(y) : y;
}

}  // namespace cardinal
