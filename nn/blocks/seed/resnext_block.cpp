#include "nn/blocks/seed/resnext_block.h"

#include <string>

#include "nn/blocks/seed/se_block.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"

namespace cardinal::seed {

namespace {

void check_config(const char* block, int64_t in, int64_t cardinality, int64_t group_depth,
                  int64_t stride) {
    check<ValueError>(in > 0 && cardinality > 0 && group_depth > 0 && stride > 0, block,
                      ": in_chnls, cardinality, group_depth and stride must be positive, got ", in,
                      ", ", cardinality, ", ", group_depth, ", ", stride);
}

}  // namespace

ResNeXtBlock::ResNeXtBlock(int64_t in_chnls, int64_t cardinality, int64_t group_depth,
                           int64_t stride, Generator* gen)
    : in_(in_chnls), cardinality_(cardinality), group_depth_(group_depth), stride_(stride) {
    check_config("ResNeXt_Block", in_chnls, cardinality, group_depth, stride);
    const int64_t gc = cardinality * group_depth, out = 2 * gc;
    conv1_ = register_module("conv1", std::make_shared<BNConv2d>(in_chnls, gc, 1, 1, 0, 1, 1,
                                                                 false, gen));
    conv2_ = register_module("conv2", std::make_shared<BNConv2d>(gc, gc, 3, stride, 1, 1,
                                                                 cardinality, false, gen));
    conv3_ = register_module("conv3", std::make_shared<Conv2d>(Conv2dOptions(gc, out, 1), gen));
    bn_ = register_module("bn", std::make_shared<BatchNorm2d>(out));
    short_cut_ = register_module(
        "short_cut",
        std::shared_ptr<Sequential>(new Sequential{
            std::make_shared<Conv2d>(Conv2dOptions(in_chnls, out, 1).stride(stride).bias(false), gen),
            std::make_shared<BatchNorm2d>(out)}));
}

void ResNeXtBlock::check_input(const Tensor& x) const {
    check<ShapeError>(x.dim() == 4 && x.size(1) == in_, type_name(), ": expected input [N, ", in_,
                      ", H, W], got ", describe(x));
}

Tensor ResNeXtBlock::branch(const Tensor& x) {
    return bn_->forward(conv3_->forward(conv2_->forward(conv1_->forward(x))));
}

Tensor ResNeXtBlock::forward(const Tensor& x) {
    check_input(x);
    return relu(add(branch(x), shortcut(x)));
}

std::string ResNeXtBlock::extra_repr() const {
    return "in_chnls=" + std::to_string(in_) + ", cardinality=" + std::to_string(cardinality_) +
           ", group_depth=" + std::to_string(group_depth_) + ", stride=" + std::to_string(stride_);
}

SEResNeXtBlock::SEResNeXtBlock(int64_t in_chnls, int64_t cardinality, int64_t group_depth,
                               int64_t stride, Generator* gen)
    : ResNeXtBlock(in_chnls, cardinality, group_depth, stride, gen) {
    se_ = register_module("se", make_se_gate(out_channels(), gen));
}

Tensor SEResNeXtBlock::forward(const Tensor& x) {
    check_input(x);
    Tensor out = branch(x);
    out = mul(out, se_->forward(out));  // SE scales the branch before the identity add
    return relu(add(out, shortcut(x)));
}

}  // namespace cardinal::seed
