#include "nn/blocks/basic_block.h"

#include "nn/layers/conv_bn_fold.h"

#include "nn/init.h"
#include "nn/layers/activation.h"
#include "nn/layers/basic.h"
#include "nn/layers/dropout.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"

namespace cardinal {

BasicBlock::BasicBlock(const BasicBlockConfig& c) {
    check<ValueError>(c.inplanes > 0 && c.planes > 0, "BasicBlock: inplanes and planes must be positive, got ",
                      c.inplanes, " and ", c.planes);
    check<ValueError>(c.cardinality == 1 && c.base_width == 64, "BasicBlock: only cardinality 1 and base_width 64 ",
                      "are supported (as in timm), got ", c.cardinality, " and ", c.base_width);
    check<ValueError>(c.stride > 0 && c.dilation > 0 && c.first_dilation >= 0 && c.reduce_first > 0,
                      "BasicBlock: stride, dilation and reduce_first must be positive");
    const int64_t first_planes = c.planes / c.reduce_first;
    check<ValueError>(first_planes > 0, "BasicBlock: planes / reduce_first is 0");
    const int64_t first_dilation = c.first_dilation > 0 ? c.first_dilation : c.dilation;
    Generator* g = c.gen;
    conv1_ = register_module("conv1", std::make_shared<Conv2d>(Conv2dOptions(c.inplanes, first_planes, 3)
                                                                   .stride(c.stride)
                                                                   .padding(first_dilation)
                                                                   .dilation(first_dilation)
                                                                   .bias(false),
                                                               g));
    bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(first_planes));
    drop_block_ = c.drop_block_rate > 0
                      ? ModulePtr(std::make_shared<DropBlock2d>(c.drop_block_rate, c.drop_block_size, g))
                      : ModulePtr(std::make_shared<Identity>());
    register_module("drop_block", drop_block_);
    register_module("act1", std::make_shared<ReLU>());
    conv2_ = register_module("conv2", std::make_shared<Conv2d>(Conv2dOptions(first_planes, c.planes, 3)
                                                                   .padding(c.dilation)
                                                                   .dilation(c.dilation)
                                                                   .bias(false),
                                                               g));
    bn2_ = register_module("bn2", std::make_shared<BatchNorm2d>(c.planes));
    se_ = make_attn(c.attn, c.planes, g);
    if (se_) register_module("se", se_);
    register_module("act2", std::make_shared<ReLU>());
    if (c.downsample) downsample_ = register_module("downsample", c.downsample);
    if (c.drop_path_rate > 0) drop_path_ = register_module("drop_path", std::make_shared<DropPath>(c.drop_path_rate, g));
}

void BasicBlock::zero_init_last() { init::zeros_(bn2_->weight()); }

Tensor BasicBlock::forward(const Tensor& x) {
    if (can_fold_conv_bn(*conv1_, *bn1_, x)) return forward_folded(x);
    // BatchNorm + ReLU and the tail's add + ReLU run as fused ops (one pass each way).
    Tensor y = std::dynamic_pointer_cast<Identity>(drop_block_)
                   ? bn1_->forward_relu(conv1_->forward(x))
                   : relu(drop_block_->forward(bn1_->forward(conv1_->forward(x))));
    y = bn2_->forward(conv2_->forward(y));
    if (se_) y = se_->forward(y);
    if (drop_path_) y = drop_path_->forward(y);
    Tensor shortcut = downsample_ ? downsample_->forward(x) : x;
    check<ShapeError>(y.shape() == shortcut.shape(), "BasicBlock: branch output ", describe(y),
                      " does not match the shortcut ", describe(shortcut));
    return add_relu(y, shortcut);
}

// Inference (eval, no gradient): BatchNorm folded, ReLU and residual add as post-ops.
Tensor BasicBlock::forward_folded(const Tensor& x) {
    Tensor shortcut = downsample_ ? downsample_->forward(x) : x;
    Tensor y = conv_bn_act(*conv1_, *bn1_, x, true);
    const int64_t s = conv2_->options().stride()[0];
    const Shape out{y.size(0), bn2_->num_features(), (y.size(2) - 1) / s + 1, (y.size(3) - 1) / s + 1};
    check<ShapeError>(out == shortcut.shape(), "BasicBlock: branch output ", shape_str(out),
                      " does not match the shortcut ", describe(shortcut));
    if (!se_) return conv_bn_act(*conv2_, *bn2_, y, true, shortcut);
    y = se_->forward(conv_bn_act(*conv2_, *bn2_, y, false));
    return relu(y + shortcut);
}

}  // namespace cardinal
