#include "nn/blocks/split_attn.h"

#include "nn/blocks/channels.h"
#include "nn/layers/activation.h"
#include "nn/layers/basic.h"
#include "nn/layers/conv_bn_fold.h"
#include "nn/layers/dropout.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/channel_gates.h"
#include "ops/reduction.h"
#include "ops/shape_ops.h"

namespace cardinal {

RadixSoftmax::RadixSoftmax(int64_t radix, int64_t cardinality) : radix_(radix), cardinality_(cardinality) {
    check<ValueError>(radix >= 1 && cardinality >= 1, "RadixSoftmax: radix and cardinality must be >= 1, got ",
                      radix, " and ", cardinality);
}

Tensor RadixSoftmax::forward(const Tensor& x) {
    if (radix_ == 1) return sigmoid(x);
    int64_t b = x.size(0);
    int64_t per = x.numel() / b;
    check<ShapeError>(per % (radix_ * cardinality_) == 0, "RadixSoftmax(radix=", radix_, ", cardinality=",
                      cardinality_, "): ", per, " channels are not divisible by radix * cardinality");
    // [B, K, R, C/K] -> [B, R, K, C/K]: read cardinality-major, softmax over R, write radix-major.
    Tensor a = transpose(reshape(x, {b, cardinality_, radix_, per / (radix_ * cardinality_)}), 1, 2);
    return reshape(softmax(a, 1), {b, per});
}

SplitAttn::SplitAttn(const SplitAttnConfig& c) {
    in_ = c.in_channels;
    out_ = c.out_channels > 0 ? c.out_channels : c.in_channels;
    radix_ = c.radix;
    check<ValueError>(in_ > 0 && c.out_channels >= 0, "SplitAttn: channels must be positive, got in=", in_,
                      " out=", c.out_channels);
    check<ValueError>(c.radix >= 1, "SplitAttn: radix must be >= 1, got ", c.radix);
    check<ValueError>(c.groups >= 1, "SplitAttn: groups (cardinality) must be >= 1, got ", c.groups);
    check<ValueError>(c.rd_ratio > 0 && c.rd_divisor > 0 && c.rd_channels >= 0,
                      "SplitAttn: rd_ratio and rd_divisor must be positive, got rd_ratio=", c.rd_ratio,
                      " rd_divisor=", c.rd_divisor);
    int64_t kr = c.groups * c.radix;
    check<ValueError>(in_ % kr == 0 && out_ % c.groups == 0, "SplitAttn: in_channels (", in_,
                      ") must be divisible by groups*radix (", c.groups, "*", c.radix, "=", kr,
                      ") and out_channels (", out_, ") by groups");
    attn_ = c.rd_channels > 0 ? c.rd_channels * c.radix
                              : make_divisible(static_cast<double>(in_ * c.radix) * c.rd_ratio, c.rd_divisor, 32);
    check<ValueError>(attn_ % c.groups == 0, "SplitAttn: attention channels (", attn_,
                      ") must be divisible by groups (", c.groups, ")");
    int64_t mid = out_ * c.radix;
    int64_t padding = c.padding >= 0 ? c.padding : c.kernel_size / 2;

    conv_ = register_module("conv", std::make_shared<Conv2d>(Conv2dOptions(in_, mid, c.kernel_size)
                                                                 .stride(c.stride)
                                                                 .padding(padding)
                                                                 .dilation(c.dilation)
                                                                 .groups(kr)
                                                                 .bias(false),
                                                             c.gen));
    bn0_ = c.norm ? ModulePtr(std::make_shared<BatchNorm2d>(mid)) : ModulePtr(std::make_shared<Identity>());
    register_module("bn0", bn0_);
    drop_ = c.drop_block_rate > 0
                ? ModulePtr(std::make_shared<DropBlock2d>(c.drop_block_rate, c.drop_block_size, c.gen))
                : ModulePtr(std::make_shared<Identity>());
    register_module("drop", drop_);
    register_module("act0", std::make_shared<ReLU>());
    fc1_ = register_module("fc1", std::make_shared<Conv2d>(Conv2dOptions(out_, attn_, 1).groups(c.groups), c.gen));
    bn1_ = c.norm ? ModulePtr(std::make_shared<BatchNorm2d>(attn_)) : ModulePtr(std::make_shared<Identity>());
    register_module("bn1", bn1_);
    register_module("act1", std::make_shared<ReLU>());
    fc2_ = register_module("fc2", std::make_shared<Conv2d>(Conv2dOptions(attn_, mid, 1).groups(c.groups), c.gen));
    rsoftmax_ = register_module("rsoftmax", std::make_shared<RadixSoftmax>(c.radix, c.groups));
}

Tensor SplitAttn::forward(const Tensor& input) {
    check<ShapeError>(input.dim() == 4 && input.size(1) == in_, "SplitAttn(", in_, " -> ", out_,
                      "): expected input [B, ", in_, ", H, W], got ", describe(input));
    auto bn0 = std::dynamic_pointer_cast<BatchNorm2d>(bn0_);
    const bool no_drop = std::dynamic_pointer_cast<Identity>(drop_) != nullptr;
    Tensor x;  // [B, R*C, H, W]
    if (bn0 && can_fold_conv_bn(*conv_, *bn0, input))
        x = conv_bn_act(*conv_, *bn0, input, true);  // eval: folded, drop is identity
    else if (bn0 && no_drop)
        x = bn0->forward_relu(conv_->forward(input));  // fused BatchNorm + ReLU
    else
        x = relu(drop_->forward(bn0_->forward(conv_->forward(input))));
    if (can_fuse_gate(input, x)) return gate_fused(x);
    const int64_t b = x.size(0);
    // The differentiable gate: one pass for the pool, one for the gated sum, in x's layout.
    Tensor gap = reshape(split_pool(x, radix_), {b, out_, 1, 1});
    Tensor a = fc2_->forward(relu(bn1_->forward(fc1_->forward(gap))));  // [B, R*C, 1, 1]
    Tensor weights = rsoftmax_->forward(a);                              // radix-major
    return split_gated_sum(x, reshape(weights, {b, radix_, out_}), radix_);
}

bool SplitAttn::can_fuse_gate(const Tensor& input, const Tensor& x) const {
    auto bn1 = std::dynamic_pointer_cast<BatchNorm2d>(bn1_);
    return (!bn1 || !bn1->is_training()) && pixel_major(x) && no_grad_wanted(*this, {input, x});
}

Tensor SplitAttn::gate_fused(const Tensor& x) {
    const std::vector<Tensor> splits = radix_splits(x, radix_);
    const Tensor gap = pool_sum(splits);  // [B, C]
    const int64_t groups = fc1_->options().groups();
    Tensor z;
    if (auto bn1 = std::dynamic_pointer_cast<BatchNorm2d>(bn1_)) {
        auto [w, b] = bn1->folded_into(*fc1_);
        z = gate_fc(gap, w, b, groups, true);
    } else {
        z = gate_fc(gap, fc1_->weight(), fc1_->bias(), groups, true);
    }
    Tensor a = gate_fc(z, fc2_->weight(), fc2_->bias(), groups, false);  // [B, R*C], cardinality-major
    Tensor weights = rsoftmax_->forward(a);                              // radix-major, as forward
    return gated_sum(splits, weights.reshape({x.size(0), radix_, out_}));
}

}  // namespace cardinal
