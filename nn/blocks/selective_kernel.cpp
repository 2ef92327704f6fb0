#include "nn/blocks/selective_kernel.h"

#include <algorithm>

#include "nn/blocks/channels.h"
#include "nn/layers/conv_bn_fold.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/channel_gates.h"
#include "ops/reduction.h"
#include "ops/shape_ops.h"

namespace cardinal {

SelectiveKernelAttn::SelectiveKernelAttn(int64_t channels, int64_t num_paths, int64_t attn_channels,
                                         Generator* gen)
    : channels_(channels), num_paths_(num_paths) {
    check<ValueError>(channels > 0 && num_paths > 0 && attn_channels > 0,
                      "SelectiveKernelAttn: channels, num_paths and attn_channels must be positive, got ",
                      channels, ", ", num_paths, ", ", attn_channels);
    fc_reduce_ = register_module("fc_reduce",
                                 std::make_shared<Conv2d>(Conv2dOptions(channels, attn_channels, 1).bias(false), gen));
    bn_ = register_module("bn", std::make_shared<BatchNorm2d>(attn_channels));
    fc_select_ = register_module(
        "fc_select", std::make_shared<Conv2d>(Conv2dOptions(attn_channels, channels * num_paths, 1).bias(false), gen));
}

Tensor SelectiveKernelAttn::forward(const Tensor& paths) {
    check<ShapeError>(paths.dim() == 5 && paths.size(1) == num_paths_ && paths.size(2) == channels_,
                      "SelectiveKernelAttn: expected stacked paths [B, ", num_paths_, ", ", channels_,
                      ", H, W], got ", describe(paths));
    int64_t b = paths.size(0);
    Tensor s = mean(sum(paths, {1}), {2, 3}, true);                 // [B, C, 1, 1]
    s = fc_select_->forward(relu(bn_->forward(fc_reduce_->forward(s))));  // [B, P*C, 1, 1]
    return softmax(reshape(s, {b, num_paths_, channels_, 1, 1}), 1);  // path-major
}

bool SelectiveKernelAttn::can_fuse(const std::vector<Tensor>& paths) const {
    if (bn_->is_training() || static_cast<int64_t>(paths.size()) != num_paths_) return false;
    for (const Tensor& p : paths)
        if (!pixel_major(p) || p.shape() != paths[0].shape() || p.dtype() != paths[0].dtype() ||
            p.size(1) != channels_)
            return false;
    return no_grad_wanted(*this, paths);
}

Tensor SelectiveKernelAttn::weights_from_pooled(const Tensor& s) {
    auto [w, b] = bn_->folded_into(*fc_reduce_);
    Tensor z = gate_fc(s, w, b, 1, true);                                  // relu(bn(fc_reduce(s)))
    Tensor a = gate_fc(z, fc_select_->weight(), fc_select_->bias(), 1, false);  // [B, P*C]
    return softmax(reshape(a, {s.size(0), num_paths_, channels_}), 1);    // path-major
}

SelectiveKernel::SelectiveKernel(const SelectiveKernelConfig& c) {
    const SkKwargs& sk = c.sk;
    in_ = c.in_channels;
    out_ = c.out_channels > 0 ? c.out_channels : c.in_channels;
    num_paths_ = static_cast<int64_t>(sk.kernel_size.size());
    split_input_ = sk.split_input;
    check<ValueError>(in_ > 0 && c.out_channels >= 0, "SelectiveKernel: channels must be positive, got in=",
                      in_, " out=", c.out_channels);
    check<ValueError>(num_paths_ >= 1, "SelectiveKernel: kernel_size needs at least one entry");
    check<ValueError>(c.stride > 0 && c.dilation > 0 && c.groups > 0,
                      "SelectiveKernel: stride, dilation and groups must be positive, got ", c.stride, ", ",
                      c.dilation, ", ", c.groups);
    check<ValueError>(sk.rd_ratio > 0 && sk.rd_divisor > 0 && sk.rd_channels >= 0,
                      "SelectiveKernel: rd_ratio and rd_divisor must be positive, got rd_ratio=",
                      sk.rd_ratio, " rd_divisor=", sk.rd_divisor);
    check<ValueError>(!split_input_ || in_ % num_paths_ == 0, "SelectiveKernel: split_input needs in_channels (",
                      in_, ") divisible by the number of paths (", num_paths_, ")");
    int64_t path_in = split_input_ ? in_ / num_paths_ : in_;
    int64_t groups = std::min(out_, c.groups);
    check<ValueError>(path_in % groups == 0 && out_ % groups == 0, "SelectiveKernel: path channels ", path_in,
                      " -> ", out_, " must be divisible by groups ", groups);
    attn_channels_ = sk.rd_channels > 0
                         ? sk.rd_channels
                         : make_divisible(static_cast<double>(out_) * sk.rd_ratio, sk.rd_divisor);

    paths_ = register_module("paths", std::make_shared<ModuleList>());
    for (int64_t k : sk.kernel_size) {
        check<ValueError>(k > 0 && k % 2 == 1, "SelectiveKernel: kernel sizes must be odd and positive, got ", k);
        int64_t dil = c.dilation;
        if (sk.keep_3x3 && k > 3) {
            dil = c.dilation * (k - 1) / 2;
            k = 3;
        }
        int64_t pad = ((c.stride - 1) + dil * (k - 1)) / 2;  // timm's get_padding
        paths_->push_back(std::make_shared<ConvNormAct>(
            Conv2dOptions(path_in, out_, k).stride(c.stride).padding(pad).dilation(dil).groups(groups), true,
            c.gen));
    }
    attn_ = register_module("attn", std::make_shared<SelectiveKernelAttn>(out_, num_paths_, attn_channels_, c.gen));
}

Tensor SelectiveKernel::forward(const Tensor& x) {
    check<ShapeError>(x.dim() == 4 && x.size(1) == in_, "SelectiveKernel(", in_, " -> ", out_,
                      "): expected input [B, ", in_, ", H, W], got ", describe(x));
    std::vector<Tensor> inputs = split_input_ ? split(x, in_ / num_paths_, 1) : std::vector<Tensor>(num_paths_, x);
    std::vector<Tensor> outs;
    for (int64_t i = 0; i < num_paths_; ++i) outs.push_back((*paths_)[i]->forward(inputs[i]));
    // Inference: the sum of the paths and its pool in one pass, the weighted sum in another; no
    // stacked copy (ops/channel_gates.h).
    if (attn_->can_fuse(outs)) return gated_sum(outs, attn_->weights_from_pooled(pool_sum(outs)));
    Tensor stacked = stack(outs, 1);          // [B, P, C, H', W']
    Tensor w = attn_->forward(stacked);       // [B, P, C, 1, 1]
    return sum(stacked * w, {1});
}

}  // namespace cardinal
