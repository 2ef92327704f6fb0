// ResNeXtBlock and SEResNeXtBlock: the seed notes' ResNeXt_Block (docs/seed-forms.md section 3)
// and its SE
// composition (docs/seed-forms.md section 4). With gc = cardinality * group_depth and s = stride:
//   conv1  BN_Conv2d 1x1, in -> gc                               (conv1.conv, conv1.bn)
//   conv2  BN_Conv2d 3x3, stride s, pad 1, groups = cardinality  (conv2.conv, conv2.bn)
//   conv3  Conv2d 1x1 gc -> 2gc WITH bias;  bn  BN(2gc), no ReLU
//   short_cut = BN(conv1x1 stride s, in -> 2gc)(x), always      (short_cut.0, short_cut.1)
//   ResNeXt:     y = relu(bn(conv3(conv2(conv1(x)))) + short_cut(x))
//   SE-ResNeXt:  out = bn(conv3(...)); out = out * se(out); y = relu(out + short_cut(x)),
//                se = the seed SE gate on 2gc channels (se.1, se.3), registered after short_cut.
// Output [B, 2gc, floor((H-1)/s)+1, floor((W-1)/s)+1].
//
// Versus timm Bottleneck: widths are out = 2gc (timm: planes*4, width from base_width), conv3
// has a bias (timm convs have none: it cancels in train-mode BN but shifts the eval output),
// the shortcut is always a projection (timm uses identity when stride 1 and in == out), and
// the names differ (timm conv1/bn1/conv2/bn2/conv3/bn3/downsample.0/1; SE fc1/fc2 with width
// make_divisible(C/16, 8) instead of C // 16). timm places SE at the same point.
#pragma once
#include <memory>

#include "nn/blocks/seed/bn_conv2d.h"
#include "nn/layers/container.h"

namespace cardinal::seed {

class ResNeXtBlock : public Module {
public:
    ResNeXtBlock(int64_t in_chnls, int64_t cardinality, int64_t group_depth, int64_t stride,
                 Generator* gen = nullptr);

    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "ResNeXt_Block"; }
    std::string extra_repr() const override;

    int64_t out_channels() const { return 2 * cardinality_ * group_depth_; }

protected:
    // bn(conv3(conv2(conv1(x)))): the branch before the add.
    Tensor branch(const Tensor& x);
    Tensor shortcut(const Tensor& x) { return short_cut_->forward(x); }
    void check_input(const Tensor& x) const;

private:
    int64_t in_, cardinality_, group_depth_, stride_;
    std::shared_ptr<BNConv2d> conv1_, conv2_;
    std::shared_ptr<Conv2d> conv3_;
    std::shared_ptr<BatchNorm2d> bn_;
    std::shared_ptr<Sequential> short_cut_;
};

class SEResNeXtBlock : public ResNeXtBlock {
public:
    SEResNeXtBlock(int64_t in_chnls, int64_t cardinality, int64_t group_depth, int64_t stride,
                   Generator* gen = nullptr);

    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "SE_ResNeXt_Block"; }

private:
    std::shared_ptr<Sequential> se_;
};

}  // namespace cardinal::seed
