// Selective Kernel convolution (timm SelectiveKernel, docs/timm-configs.md section 4.2), P paths:
//   path_i = relu(bn_i(conv_i(x_i)))   conv_i for kernel size k_i (default {3, 5}): with keep_3x3 a
//            3x3 with dilation dilation*(k_i-1)/2 (so 1, 2 for the default), stride s,
//            groups = min(out, groups); x_i = x (or the i-th channel slice when split_input)
//   u = sum_i path_i;  z = relu(bn(fc_reduce(mean_{H,W}(u))));  a = fc_select(z) [B, P*out]
//   w = softmax over i of a.view(B, P, out) (path-major);  y = sum_i path_i * w_i
// Names: paths.{i}.conv.weight, paths.{i}.bn.*, attn.fc_reduce.weight, attn.bn.*,
// attn.fc_select.weight.
#pragma once
#include <vector>

#include "nn/blocks/conv_norm_act.h"
#include "nn/layers/container.h"
#include "nn/module.h"

namespace cardinal {

// The attention of SelectiveKernel: input the stacked paths [B, P, C, H, W], output the path
// weights [B, P, C, 1, 1] (softmax over P).
class SelectiveKernelAttn : public Module {
public:
    SelectiveKernelAttn(int64_t channels, int64_t num_paths, int64_t attn_channels, Generator* gen = nullptr);
    Tensor forward(const Tensor& paths) override;
    std::string type_name() const override { return "SelectiveKernelAttn"; }
    // Inference on the unstacked paths: true when the fused gate computes what forward does (bn in
    // eval mode, no gradient wanted, every path pixel-major of one shape, ops/channel_gates.h).
    bool can_fuse(const std::vector<Tensor>& paths) const;
    // The path weights [B, P, C] from s = mean_{H,W}(sum_i path_i) [B, C], with bn folded into
    // fc_reduce: forward's math on [B, C] rows.
    Tensor weights_from_pooled(const Tensor& s);

private:
    int64_t channels_, num_paths_;
    std::shared_ptr<Conv2d> fc_reduce_, fc_select_;
    std::shared_ptr<BatchNorm2d> bn_;
};

// timm's sk_kwargs.
struct SkKwargs {
    double rd_ratio = 1.0 / 16;
    int64_t rd_divisor = 8;
    int64_t rd_channels = 0;                  // 0: make_divisible(out * rd_ratio, rd_divisor)
    bool split_input = true;
    std::vector<int64_t> kernel_size{3, 5};  // one path per entry
    bool keep_3x3 = true;                     // a k x k path becomes 3x3 with dilation (k-1)/2
};

struct SelectiveKernelConfig {
    int64_t in_channels = 0;
    int64_t out_channels = 0;  // 0: same as in_channels
    int64_t stride = 1;
    int64_t dilation = 1;
    int64_t groups = 1;
    SkKwargs sk;
    Generator* gen = nullptr;
};

class SelectiveKernel : public Module {
public:
    explicit SelectiveKernel(const SelectiveKernelConfig& config);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "SelectiveKernel"; }
    int64_t attn_channels() const { return attn_channels_; }

private:
    int64_t in_, out_, num_paths_, attn_channels_;
    bool split_input_;
    std::shared_ptr<ModuleList> paths_;
    std::shared_ptr<SelectiveKernelAttn> attn_;
};

}  // namespace cardinal
