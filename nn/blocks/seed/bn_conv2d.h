// BNConv2d: the seed notes' BN_Conv2d (docs/seed-forms.md section 2): conv, then BatchNorm2d, then
// ReLU.
//   y = relu(bn(conv2d(x, weight; stride, padding, dilation, groups)))
// state_dict: conv.weight (conv.bias when bias), bn.weight, bn.bias, bn.running_mean,
// bn.running_var, bn.num_batches_tracked.
//
// Versus timm: timm has no such module; its Bottleneck names the same pair conv1/bn1 and
// applies the activation separately. Checkpoints that define BN_Conv2d as
// `seq = Sequential(Conv2d, BatchNorm2d)` use seq.0/seq.1 for conv/bn.
#pragma once
#include <memory>

#include "nn/layers/batch_norm.h"
#include "nn/layers/conv.h"
#include "nn/module.h"

namespace cardinal::seed {

class BNConv2d : public Module {
public:
    // The document's signature; bias defaults to false (FIX 1 of docs/seed-forms.md section 7).
    BNConv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride,
             int64_t padding, int64_t dilation = 1, int64_t groups = 1, bool bias = false,
             Generator* gen = nullptr);

    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "BN_Conv2d"; }

    const std::shared_ptr<Conv2d>& conv() const { return conv_; }
    const std::shared_ptr<BatchNorm2d>& bn() const { return bn_; }

private:
    std::shared_ptr<Conv2d> conv_;
    std::shared_ptr<BatchNorm2d> bn_;
};

}  // namespace cardinal::seed
