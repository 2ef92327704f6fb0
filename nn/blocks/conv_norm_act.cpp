#include "nn/blocks/conv_norm_act.h"

#include "nn/layers/conv_bn_fold.h"

namespace cardinal {

ConvNormAct::ConvNormAct(Conv2dOptions conv, bool apply_act, Generator* gen) : apply_act_(apply_act) {
    conv_ = register_module("conv", std::make_shared<Conv2d>(conv.bias(false), gen));
    bn_ = register_module("bn", std::make_shared<BatchNorm2d>(conv.out_channels()));
}

Tensor ConvNormAct::forward(const Tensor& x) {
    return conv_bn_act(*conv_, *bn_, x, apply_act_);  // folded in eval inference
}

}  // namespace cardinal
