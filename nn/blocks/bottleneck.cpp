#include "nn/blocks/bottleneck.h"

#include "nn/init.h"
#include "nn/layers/activation.h"
#include "nn/layers/basic.h"
#include "nn/layers/conv_bn_fold.h"
#include "nn/layers/dropout.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"

namespace cardinal {

Bottleneck::Bottleneck(const BottleneckConfig& c) {
    check<ValueError>(c.inplanes > 0 && c.planes > 0, "Bottleneck: inplanes and planes must be positive, got ",
                      c.inplanes, " and ", c.planes);
    check<ValueError>(c.stride > 0 && c.dilation > 0 && c.first_dilation >= 0,
                      "Bottleneck: stride and dilation must be positive, got stride=", c.stride,
                      " dilation=", c.dilation);
    check<ValueError>(c.cardinality > 0 && c.base_width > 0 && c.reduce_first > 0,
                      "Bottleneck: cardinality, base_width and reduce_first must be positive, got ",
                      c.cardinality, ", ", c.base_width, ", ", c.reduce_first);
    width_ = c.planes * c.base_width / 64 * c.cardinality;
    check<ValueError>(width_ > 0, "Bottleneck: width = floor(planes * base_width / 64) * cardinality is 0 (planes=",
                      c.planes, ", base_width=", c.base_width, ")");
    int64_t first_planes = width_ / c.reduce_first;
    check<ValueError>(first_planes > 0 && first_planes % c.cardinality == 0, "Bottleneck: conv1 width ",
                      first_planes, " (width ", width_, " / reduce_first ", c.reduce_first,
                      ") must be a positive multiple of cardinality ", c.cardinality);
    int64_t out = c.planes * expansion;
    int64_t first_dilation = c.first_dilation > 0 ? c.first_dilation : c.dilation;
    Generator* g = c.gen;

    conv1_ = register_module("conv1", std::make_shared<Conv2d>(Conv2dOptions(c.inplanes, first_planes, 1).bias(false), g));
    bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(first_planes));
    register_module("act1", std::make_shared<ReLU>());
    conv2_ = register_module("conv2", std::make_shared<Conv2d>(Conv2dOptions(first_planes, width_, 3)
                                                                   .stride(c.stride)
                                                                   .padding(first_dilation)
                                                                   .dilation(first_dilation)
                                                                   .groups(c.cardinality)
                                                                   .bias(false),
                                                               g));
    bn2_ = register_module("bn2", std::make_shared<BatchNorm2d>(width_));
    drop_block_ = c.drop_block_rate > 0
                      ? ModulePtr(std::make_shared<DropBlock2d>(c.drop_block_rate, c.drop_block_size, g))
                      : ModulePtr(std::make_shared<Identity>());
    register_module("drop_block", drop_block_);
    register_module("act2", std::make_shared<ReLU>());
    conv3_ = register_module("conv3", std::make_shared<Conv2d>(Conv2dOptions(width_, out, 1).bias(false), g));
    bn3_ = register_module("bn3", std::make_shared<BatchNorm2d>(out));
    se_ = make_attn(c.attn, out, g);
    if (se_) register_module("se", se_);
    register_module("act3", std::make_shared<ReLU>());
    if (c.downsample) downsample_ = register_module("downsample", c.downsample);
    if (c.drop_path_rate > 0) drop_path_ = register_module("drop_path", std::make_shared<DropPath>(c.drop_path_rate, g));
}

void Bottleneck::zero_init_last() { init::zeros_(bn3_->weight()); }

Tensor Bottleneck::forward(const Tensor& x) {
    if (can_fold_conv_bn(*conv1_, *bn1_, x)) return forward_folded(x);
    // BatchNorm + ReLU and the tail's add + ReLU run as fused ops (one pass each way).
    Tensor y = bn1_->forward_relu(conv1_->forward(x));
    y = std::dynamic_pointer_cast<Identity>(drop_block_)
            ? bn2_->forward_relu(conv2_->forward(y))
            : relu(drop_block_->forward(bn2_->forward(conv2_->forward(y))));
    y = bn3_->forward(conv3_->forward(y));
    if (se_) y = se_->forward(y);
    if (drop_path_) y = drop_path_->forward(y);
    Tensor shortcut = downsample_ ? downsample_->forward(x) : x;
    check<ShapeError>(y.shape() == shortcut.shape(), "Bottleneck: branch output ", describe(y),
                      " does not match the shortcut ", describe(shortcut),
                      " (a block that changes channels or stride needs a downsample)");
    return add_relu(y, shortcut);
}

// Inference (eval, no gradient): each conv with its BatchNorm folded in, the ReLUs and the
// residual add as post-ops of the convolutions (nn/layers/conv_bn_fold.h), or with SE, as part of
// SE's fused gate. DropBlock and DropPath are the identity in eval mode.
Tensor Bottleneck::forward_folded(const Tensor& x) {
    Tensor shortcut = downsample_ ? downsample_->forward(x) : x;
    Tensor y = conv_bn_act(*conv1_, *bn1_, x, true);
    y = conv_bn_act(*conv2_, *bn2_, y, true);
    const Shape out{y.size(0), bn3_->num_features(), y.size(2), y.size(3)};
    check<ShapeError>(out == shortcut.shape(), "Bottleneck: branch output ", shape_str(out),
                      " does not match the shortcut ", describe(shortcut),
                      " (a block that changes channels or stride needs a downsample)");
    if (!se_) return conv_bn_act(*conv3_, *bn3_, y, true, shortcut);
    y = conv_bn_act(*conv3_, *bn3_, y, false);
    // SE's gate multiply, the residual add and the ReLU in one pass (nn/blocks/se.h).
    if (auto se = std::dynamic_pointer_cast<SEModule>(se_)) return se->forward_fused(y, shortcut, true);
    return relu(se_->forward(y) + shortcut);
}

}  // namespace cardinal
