// SKConv: the seed notes' Selective Kernel convolution (docs/seed-forms.md section 5).
// C = out_channels, d = max(in_channels // r, L), branch i = 0..M-1 has dilation = padding = i+1:
//   branch_i = relu(bn_i(conv3x3_i(x; stride, groups = 32)))     every branch sees all of x
//   U = branch_0 + ... + branch_{M-1}                            (left fold)
//   z = relu(bn(conv1x1_{C->d}(GAP(U))))                          fc1 (no bias)
//   a = conv1x1_{d->M*C}(z).reshape(B, M, C)                       fc2 (no bias), path-major:
//                                                                  logit (m, c) is channel m*C+c
//   w = softmax(a, over M);   V = sum_m branch_m * w[:, m, c]      (left fold)
// Output [B, C, floor((H-1)/stride)+1, ...]. Names conv.{i}.0 / conv.{i}.1, fc1.0 / fc1.1, fc2.
//
// Versus timm SelectiveKernel: the input is not split (timm's split_input=False; skresnet uses
// True), groups are hard-coded to 32 (timm: an argument), the attention width is
// max(in // r, L) from in_channels (timm: make_divisible(out * rd_ratio, rd_divisor)), M is free
// with dilation i+1 (timm: kernel_size list with keep_3x3, the same dilations). The attention
// layout is the same; names are timm's paths.{i}.conv/bn, attn.fc_reduce/bn/fc_select.
#pragma once
#include <memory>

#include "nn/layers/container.h"
#include "tensor/random.h"

namespace cardinal::seed {

class SKConv : public Module {
public:
    // in_channels and out_channels must be multiples of 32; M >= 1, r >= 1, L >= 1.
    SKConv(int64_t in_channels, int64_t out_channels, int64_t stride = 1, int64_t M = 2,
           int64_t r = 16, int64_t L = 32, Generator* gen = nullptr);

    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "SKConv"; }
    std::string extra_repr() const override;

    int64_t attention_channels() const { return d_; }

private:
    int64_t in_, out_, stride_, M_, r_, L_, d_;
    std::shared_ptr<ModuleList> conv_;  // M branches, each Sequential(Conv2d, BatchNorm2d, ReLU)
    std::shared_ptr<Sequential> fc1_;  // Sequential(Conv2d, BatchNorm2d, ReLU)
    std::shared_ptr<Module> fc2_;
};

}  // namespace cardinal::seed
