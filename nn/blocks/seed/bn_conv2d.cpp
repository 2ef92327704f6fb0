#include "nn/blocks/seed/bn_conv2d.h"

#include "ops/activation.h"

namespace cardinal::seed {

BNConv2d::BNConv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride,
                   int64_t padding, int64_t dilation, int64_t groups, bool bias, Generator* gen) {
    conv_ = register_module("conv", std::make_shared<Conv2d>(
                                        Conv2dOptions(in_channels, out_channels, kernel_size)
                                            .stride(stride)
                                            .padding(padding)
                                            .dilation(dilation)
                                            .groups(groups)
                                            .bias(bias),
                                        gen));
    bn_ = register_module("bn", std::make_shared<BatchNorm2d>(out_channels));
}

Tensor BNConv2d::forward(const Tensor& x) { return relu(bn_->forward(conv_->forward(x))); }

}  // namespace cardinal::seed
