// Squeeze-and-Excitation (timm SEModule, docs/timm-configs.md section 4.1), for x [B, C, H, W]:
//   s = mean_{H,W}(x) [B, C, 1, 1];  s = sigmoid(fc2(relu(fc1(s))));  y = x * s
// fc1: 1x1 conv C -> rd with bias, fc2: 1x1 conv rd -> C with bias,
// rd = make_divisible(C * rd_ratio, rd_divisor, round_limit = 0).
// Names: fc1.weight [rd, C, 1, 1], fc1.bias, fc2.weight [C, rd, 1, 1], fc2.bias.
#pragma once
#include <string>

#include "nn/layers/conv.h"
#include "nn/module.h"

namespace cardinal {

class SEModule : public Module {
public:
    explicit SEModule(int64_t channels, double rd_ratio = 1.0 / 16, int64_t rd_divisor = 8,
                      Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    // relu?(forward(x) + residual?), the tail of a residual block. When no gradient is wanted and
    // x (and residual) are channels-last, it runs as one read of x for the pool, the fcs on
    // [B, C] rows, and one read of x and residual for the output (ops/channel_gates.h); otherwise
    // as forward, add and relu.
    Tensor forward_fused(const Tensor& x, const Tensor& residual = Tensor(), bool relu = false);
    std::string type_name() const override { return "SEModule"; }
    int64_t rd_channels() const { return rd_; }

private:
    int64_t channels_, rd_;
    std::shared_ptr<Conv2d> fc1_, fc2_;
};

// The attention a block applies after its last BN (timm's attn_layer). An empty name means
// none; "se" is SEModule with rd_ratio / rd_divisor.
struct AttnConfig {
    std::string name;
    double rd_ratio = 1.0 / 16;
    int64_t rd_divisor = 8;
};

// The module for `config` on `channels` channels, or null for none. Unknown names throw.
ModulePtr make_attn(const AttnConfig& config, int64_t channels, Generator* gen = nullptr);

}  // namespace cardinal
