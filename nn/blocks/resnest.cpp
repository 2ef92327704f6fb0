#include "nn/blocks/resnest.h"

#include "nn/layers/conv_bn_fold.h"

#include "nn/init.h"
#include "nn/layers/activation.h"
#include "nn/layers/basic.h"
#include "nn/layers/dropout.h"
#include "nn/layers/pooling.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"

namespace cardinal {

ResNestBottleneck::ResNestBottleneck(const ResNestBottleneckConfig& c) {
    check<ValueError>(c.inplanes > 0 && c.planes > 0, "ResNestBottleneck: inplanes and planes must be positive, got ",
                      c.inplanes, " and ", c.planes);
    check<ValueError>(c.stride > 0 && c.dilation > 0 && c.first_dilation >= 0,
                      "ResNestBottleneck: stride and dilation must be positive, got stride=", c.stride,
                      " dilation=", c.dilation);
    check<ValueError>(c.radix >= 1, "ResNestBottleneck: radix must be >= 1, got ", c.radix);
    check<ValueError>(c.cardinality > 0 && c.base_width > 0,
                      "ResNestBottleneck: cardinality and base_width must be positive, got ", c.cardinality,
                      " and ", c.base_width);
    group_width_ = c.planes * c.base_width / 64 * c.cardinality;
    check<ValueError>(group_width_ > 0, "ResNestBottleneck: group width = int(planes * base_width / 64) * "
                      "cardinality is 0 (planes=", c.planes, ", base_width=", c.base_width, ")");
    check<ValueError>(group_width_ % (c.cardinality * c.radix) == 0, "ResNestBottleneck: group width ",
                      group_width_, " must be divisible by cardinality*radix (", c.cardinality, "*", c.radix, ")");
    int64_t out = c.planes * expansion;
    int64_t first_dilation = c.first_dilation > 0 ? c.first_dilation : c.dilation;
    bool avd_active = c.avd && (c.stride > 1 || c.is_first);
    int64_t conv_stride = avd_active ? 1 : c.stride;
    auto avd_pool = [&] { return std::make_shared<AvgPool2d>(Pool2dOptions(3).stride(c.stride).padding(1)); };
    Generator* g = c.gen;

    conv1_ = register_module("conv1", std::make_shared<Conv2d>(Conv2dOptions(c.inplanes, group_width_, 1).bias(false), g));
    bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(group_width_));
    register_module("act1", std::make_shared<ReLU>());
    if (avd_active && c.avd_first) avd_first_ = register_module("avd_first", avd_pool());
    SplitAttnConfig sa{.in_channels = group_width_,
                       .out_channels = group_width_,
                       .kernel_size = 3,
                       .stride = conv_stride,
                       .padding = first_dilation,
                       .dilation = first_dilation,
                       .groups = c.cardinality,
                       .radix = c.radix,
                       .drop_block_rate = c.drop_block_rate,
                       .drop_block_size = c.drop_block_size,
                       .gen = g};
    conv2_ = register_module("conv2", std::make_shared<SplitAttn>(sa));
    if (avd_active && !c.avd_first) avd_last_ = register_module("avd_last", avd_pool());
    conv3_ = register_module("conv3", std::make_shared<Conv2d>(Conv2dOptions(group_width_, out, 1).bias(false), g));
    bn3_ = register_module("bn3", std::make_shared<BatchNorm2d>(out));
    register_module("act3", std::make_shared<ReLU>());
    if (c.downsample) downsample_ = register_module("downsample", c.downsample);
    if (c.drop_path_rate > 0) drop_path_ = register_module("drop_path", std::make_shared<DropPath>(c.drop_path_rate, g));
}

void ResNestBottleneck::zero_init_last() { init::zeros_(bn3_->weight()); }

Tensor ResNestBottleneck::forward(const Tensor& x) {
    if (can_fold_conv_bn(*conv1_, *bn1_, x)) return forward_folded(x);
    Tensor y = bn1_->forward_relu(conv1_->forward(x));  // fused BatchNorm + ReLU
    if (avd_first_) y = avd_first_->forward(y);
    y = conv2_->forward(y);
    if (avd_last_) y = avd_last_->forward(y);
    y = bn3_->forward(conv3_->forward(y));
    if (drop_path_) y = drop_path_->forward(y);
    Tensor shortcut = downsample_ ? downsample_->forward(x) : x;
    check<ShapeError>(y.shape() == shortcut.shape(), "ResNestBottleneck: branch output ", describe(y),
                      " does not match the shortcut ", describe(shortcut),
                      " (a block that changes channels or stride needs a downsample)");
    return add_relu(y, shortcut);
}

// Inference (eval, no gradient): conv1 and conv3 with BatchNorm folded, the last ReLU and the
// residual add as post-ops of conv3; the split-attention conv folds its own BatchNorm.
Tensor ResNestBottleneck::forward_folded(const Tensor& x) {
    Tensor shortcut = downsample_ ? downsample_->forward(x) : x;
    Tensor y = conv_bn_act(*conv1_, *bn1_, x, true);
    if (avd_first_) y = avd_first_->forward(y);
    y = conv2_->forward(y);
    if (avd_last_) y = avd_last_->forward(y);
    const Shape out{y.size(0), bn3_->num_features(), y.size(2), y.size(3)};
    check<ShapeError>(out == shortcut.shape(), "ResNestBottleneck: branch output ", shape_str(out),
                      " does not match the shortcut ", describe(shortcut),
                      " (a block that changes channels or stride needs a downsample)");
    return conv_bn_act(*conv3_, *bn3_, y, true, shortcut);
}

}  // namespace cardinal
