// SplAtConv2d forward (the formulas are in the header). The backward comes from the engine;
// the one subtle path is the attention: softmax over the R splits couples them, so
//   dL/dsplit_r = att_r * g  +  (through GAP -> fc1 -> bn1 -> fc2 -> softmax back to every split).
#include "nn/blocks/seed/splat_conv2d.h"

#include <algorithm>
#include <string>

#include "nn/blocks/seed/rf_conv2d.h"
#include "nn/layers/repr.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/dropout.h"
#include "ops/pooling.h"
#include "ops/shape_ops.h"

namespace cardinal::seed {

namespace {
constexpr int64_t kDropBlockSize = 3;  // DropBlock2D(dropblock_prob, 3) in the ResNeSt code
}

SplAtConv2d::SplAtConv2d(const SplAtConv2dOptions& o, Generator* gen, Generator* dropblock_gen)
    : options_(o), dropblock_gen_(dropblock_gen) {
    const int64_t R = o.radix(), K = o.groups(), C = o.channels();
    check<ValueError>(o.in_channels() > 0 && C > 0, "SplAtConv2d: in_channels and channels must be "
                      "positive, got ", o.in_channels(), " and ", C);
    check<ValueError>(R >= 1, "SplAtConv2d: radix must be at least 1, got ", R);
    check<ValueError>(K >= 1, "SplAtConv2d: groups (cardinality) must be at least 1, got ", K);
    check<ValueError>(o.reduction_factor() >= 1, "SplAtConv2d: reduction_factor must be at least 1, "
                      "got ", o.reduction_factor());
    check<ValueError>(o.in_channels() % (K * R) == 0, "SplAtConv2d: in_channels (", o.in_channels(),
                      ") must be divisible by groups*radix = ", K * R, " (groups ", K, ", radix ", R, ")");
    check<ValueError>(C % K == 0, "SplAtConv2d: channels (", C, ") must be divisible by groups (", K, ")");
    inter_ = std::max(o.in_channels() * R / o.reduction_factor(), int64_t{32});
    check<ValueError>(inter_ % K == 0, "SplAtConv2d: the attention width max(in_channels*radix // "
                      "reduction_factor, 32) = ", inter_, " must be divisible by groups (", K, ")");
    check<ValueError>(o.dropblock_prob() >= 0.0 && o.dropblock_prob() < 1.0,
                      "SplAtConv2d: dropblock_prob must be in [0, 1), got ", o.dropblock_prob());
    rectify_on_ = o.rectify() && (o.padding()[0] > 0 || o.padding()[1] > 0);

    Conv2dOptions conv_options = Conv2dOptions(o.in_channels(), C * R, o.kernel_size())
                                     .stride(o.stride())
                                     .padding(o.padding())
                                     .dilation(o.dilation())
                                     .groups(K * R)
                                     .bias(o.bias());
    if (rectify_on_)
        conv_ = register_module("conv", std::make_shared<RFConv2d>(conv_options, o.rectify_avg(), gen));
    else
        conv_ = register_module("conv", std::make_shared<Conv2d>(conv_options, gen));
    bn0_ = register_module("bn0", std::make_shared<BatchNorm2d>(C * R));
    fc1_ = register_module("fc1", std::make_shared<Conv2d>(
                                      Conv2dOptions(C, inter_, 1).groups(K).bias(true), gen));
    bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(inter_));
    fc2_ = register_module("fc2", std::make_shared<Conv2d>(
                                      Conv2dOptions(inter_, C * R, 1).groups(K).bias(true), gen));
}

Tensor SplAtConv2d::forward(const Tensor& x) {
    const int64_t R = options_.radix(), C = options_.channels();
    check<ShapeError>(x.dim() == 4 && x.size(1) == options_.in_channels(),
                      "SplAtConv2d: expected input [N, ", options_.in_channels(), ", H, W], got ",
                      describe(x));
    const int64_t B = x.size(0);
    Tensor y = bn0_->forward(conv_->forward(x));
    if (options_.dropblock_prob() > 0.0)
        y = drop_block2d(y, options_.dropblock_prob(), kDropBlockSize, is_training(), dropblock_gen_);
    y = relu(y);

    std::vector<Tensor> splits;
    Tensor gap = y;
    if (R > 1) {
        splits = split(y, C, 1);  // radix-major: split r = channels [r*C, (r+1)*C)
        gap = splits[0];
        for (int64_t r = 1; r < R; ++r) gap = add(gap, splits[r]);
    }
    gap = global_avg_pool2d(gap);
    Tensor logits = fc2_->forward(relu(bn1_->forward(fc1_->forward(gap))));  // [B, C*R, 1, 1]

    if (R == 1) return mul(y, sigmoid(logits));
    // The plain view (B, R, C): the logit of (split r, channel c) is fc2 channel r*C + c.
    Tensor att = softmax(reshape(logits, {B, R, C}), 1);
    Tensor out;
    for (int64_t r = 0; r < R; ++r) {
        Tensor term = mul(splits[r], reshape(narrow(att, 1, r, 1), {B, C, 1, 1}));
        out = r == 0 ? term : add(out, term);
    }
    return out;
}

std::string SplAtConv2d::extra_repr() const {
    const auto& o = options_;
    std::string s = std::to_string(o.in_channels()) + ", " + std::to_string(o.channels()) +
                    ", kernel_size=" + tuple_repr(o.kernel_size()) + ", stride=" + tuple_repr(o.stride()) +
                    ", padding=" + tuple_repr(o.padding()) + ", groups=" + std::to_string(o.groups()) +
                    ", radix=" + std::to_string(o.radix()) + ", inter=" + std::to_string(inter_);
    if (o.rectify()) s += o.rectify_avg() ? ", rectify=avg" : ", rectify=sum";
    if (o.dropblock_prob() > 0) s += ", dropblock_prob=" + float_repr(o.dropblock_prob());
    return s;
}

}  // namespace cardinal::seed
