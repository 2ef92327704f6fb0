// Split Attention (timm SplitAttn, docs/timm-configs.md section 4.3). R = radix,
// K = groups (cardinality), C = out channels:
//   x = relu(drop(bn0(conv(x))))        conv: in -> C*R, groups K*R; splits x_r = x[:, r*C:(r+1)*C]
//   g = mean_{H,W}(sum_r x_r)           [B, C, 1, 1]  (R = 1: g = mean(x))
//   a = fc2(relu(bn1(fc1(g))))          fc1: C -> attn (groups K, bias), fc2: attn -> C*R (groups K, bias)
//   w = rsoftmax(a)                     R > 1: softmax over r of a read as [K][R][C/K] (cardinality-
//                                       major), written as [R][K][C/K] (radix-major); R = 1: sigmoid
//   y = sum_r x_r * w_r
// attn = make_divisible(in * R * rd_ratio, rd_divisor, min_value 32) unless rd_channels is given.
// Names: conv.weight, bn0.*, fc1.weight, fc1.bias, bn1.*, fc2.weight, fc2.bias.
#pragma once
#include "nn/layers/batch_norm.h"
#include "nn/layers/conv.h"
#include "nn/module.h"

namespace cardinal {

// [B, K*R*C/K, 1, 1] cardinality-major logits -> [B, R*C] radix-major weights (R > 1), or the
// elementwise sigmoid of the input (R = 1).
class RadixSoftmax : public Module {
public:
    RadixSoftmax(int64_t radix, int64_t cardinality);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "RadixSoftmax"; }

private:
    int64_t radix_, cardinality_;
};

struct SplitAttnConfig {
    int64_t in_channels = 0;
    int64_t out_channels = 0;  // 0: same as in_channels
    int64_t kernel_size = 3;
    int64_t stride = 1;
    int64_t padding = -1;      // -1: kernel_size / 2
    int64_t dilation = 1;
    int64_t groups = 1;        // cardinality
    int64_t radix = 2;
    double rd_ratio = 0.25;
    int64_t rd_channels = 0;   // > 0: attn = rd_channels * radix (timm)
    int64_t rd_divisor = 8;
    bool norm = true;          // BatchNorm2d for bn0/bn1 (false: Identity)
    double drop_block_rate = 0;  // DropBlock2d after bn0 (0: none)
    int64_t drop_block_size = 3;
    Generator* gen = nullptr;
};

class SplitAttn : public Module {
public:
    explicit SplitAttn(const SplitAttnConfig& config);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "SplitAttn"; }
    int64_t attn_channels() const { return attn_; }

private:
    // Inference: the radix sum and its pool in one pass, the fcs on [B, C] rows with bn1 folded
    // into fc1, the weighted sum of the splits in another pass (ops/channel_gates.h). x is the
    // conv output [B, R*C, H, W]; the splits are its channel slices, never copied.
    bool can_fuse_gate(const Tensor& input, const Tensor& x) const;
    Tensor gate_fused(const Tensor& x);

    int64_t in_, out_, radix_, attn_;
    std::shared_ptr<Conv2d> conv_, fc1_, fc2_;
    ModulePtr bn0_, drop_, bn1_;
    std::shared_ptr<RadixSoftmax> rsoftmax_;
};

}  // namespace cardinal
