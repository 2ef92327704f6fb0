// SplAtConv2d: the split-attention convolution of the early official ResNeSt code, as the seed
// notes write it (docs/seed-forms.md section 6). R = radix, K = groups (cardinality), C = channels,
// inter = max(in_channels * R // reduction_factor, 32):
//   x      = relu(bn0(conv(x)))          conv: k x k, groups K*R, in -> C*R (RFConv2d when
//                                        rectify and a padding > 0); DropBlock(p, 3) after bn0
//   split_r = x[:, r*C:(r+1)*C]          radix-major
//   gap    = GAP(split_0 + ... + split_{R-1})  (R = 1: GAP(x))                 [B, C, 1, 1]
//   a      = fc2(relu(bn1(fc1(gap))))    fc1: C -> inter, fc2: inter -> C*R, both groups K, bias
//   att    = a.view(B, R, C): the logit of (split r, channel c) is fc2 channel r*C + c;
//            R > 1: softmax over r;  R = 1: sigmoid
//   y      = sum_r split_r * att[:, r, :]  (left fold);  R = 1: x * att
// Names: conv.weight (conv.bias), bn0.*, fc1.weight/bias, bn1.*, fc2.weight/bias.
//
// Versus timm SplitAttn (and the later official rSoftMax): timm reads fc2 as [K][R][C/K]
// (logit of (r, c = g*C/K + j) is channel g*(R*C/K) + r*(C/K) + j); the seed's plain view reads
// [R][C]. They agree when K = 1 or R = 1 and differ otherwise, and not by a relabelling: with
// R = K = 2 every weight of split r comes from cardinal group r. The attention width is
// max(in*R//4, 32) here, make_divisible(in*R/4, 8, min 32) in timm. Defaults differ (bias=True,
// padding 0 here; timm bias=False, padding k//2). Rectified conv and DropBlock exist only here.
// The norm layer is always BatchNorm2d (the document's norm_layer=None default crashes).
#pragma once
#include <array>
#include <memory>

#include "nn/layers/batch_norm.h"
#include "nn/layers/conv.h"
#include "tensor/random.h"

namespace cardinal::seed {

using Size2 = std::array<int64_t, 2>;

// The document's constructor arguments with its defaults (stride 1, padding 0, dilation 1,
// groups 1, bias true, radix 2, reduction_factor 4, no rectify, no DropBlock).
class SplAtConv2dOptions {
public:
    SplAtConv2dOptions(int64_t in_channels, int64_t channels, int64_t kernel_size)
        : in_(in_channels), channels_(channels), kernel_{kernel_size, kernel_size} {}
    SplAtConv2dOptions(int64_t in_channels, int64_t channels, Size2 kernel_size)
        : in_(in_channels), channels_(channels), kernel_(kernel_size) {}

    SplAtConv2dOptions& stride(int64_t s) { return stride(Size2{s, s}); }
    SplAtConv2dOptions& stride(Size2 s) { stride_ = s; return *this; }
    SplAtConv2dOptions& padding(int64_t p) { return padding(Size2{p, p}); }
    SplAtConv2dOptions& padding(Size2 p) { padding_ = p; return *this; }
    SplAtConv2dOptions& dilation(int64_t d) { return dilation(Size2{d, d}); }
    SplAtConv2dOptions& dilation(Size2 d) { dilation_ = d; return *this; }
    SplAtConv2dOptions& groups(int64_t g) { groups_ = g; return *this; }
    SplAtConv2dOptions& bias(bool b) { bias_ = b; return *this; }
    SplAtConv2dOptions& radix(int64_t r) { radix_ = r; return *this; }
    SplAtConv2dOptions& reduction_factor(int64_t f) { reduction_factor_ = f; return *this; }
    SplAtConv2dOptions& rectify(bool r) { rectify_ = r; return *this; }
    SplAtConv2dOptions& rectify_avg(bool a) { rectify_avg_ = a; return *this; }
    SplAtConv2dOptions& dropblock_prob(double p) { dropblock_prob_ = p; return *this; }

    int64_t in_channels() const { return in_; }
    int64_t channels() const { return channels_; }
    Size2 kernel_size() const { return kernel_; }
    Size2 stride() const { return stride_; }
    Size2 padding() const { return padding_; }
    Size2 dilation() const { return dilation_; }
    int64_t groups() const { return groups_; }
    bool bias() const { return bias_; }
    int64_t radix() const { return radix_; }
    int64_t reduction_factor() const { return reduction_factor_; }
    bool rectify() const { return rectify_; }
    bool rectify_avg() const { return rectify_avg_; }
    double dropblock_prob() const { return dropblock_prob_; }

private:
    int64_t in_, channels_;
    Size2 kernel_;
    Size2 stride_{1, 1}, padding_{0, 0}, dilation_{1, 1};
    int64_t groups_ = 1;
    bool bias_ = true;
    int64_t radix_ = 2, reduction_factor_ = 4;
    bool rectify_ = false, rectify_avg_ = false;
    double dropblock_prob_ = 0.0;
};

class SplAtConv2d : public Module {
public:
    // gen: initialisation; dropblock_gen: the DropBlock masks (the default generator when null).
    explicit SplAtConv2d(const SplAtConv2dOptions& options, Generator* gen = nullptr,
                         Generator* dropblock_gen = nullptr);

    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "SplAtConv2d"; }
    std::string extra_repr() const override;

    const SplAtConv2dOptions& options() const { return options_; }
    int64_t inter_channels() const { return inter_; }
    // rectify and a padding > 0 (with padding 0 the conv is plain, as in the document).
    bool rectified() const { return rectify_on_; }

private:
    SplAtConv2dOptions options_;
    int64_t inter_;
    bool rectify_on_;
    Generator* dropblock_gen_;
    std::shared_ptr<Conv2d> conv_, fc1_, fc2_;
    std::shared_ptr<BatchNorm2d> bn0_, bn1_;
};

}  // namespace cardinal::seed
