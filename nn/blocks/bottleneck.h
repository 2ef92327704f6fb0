// timm's ResNet Bottleneck (ResNeXt / SE-ResNeXt / ResNet-D), docs/timm-configs.md section 3.1:
//   width = floor(planes * base_width / 64) * cardinality,  out = planes * 4
//   conv1 1x1 -> bn1 -> relu -> conv2 3x3 (stride, groups = cardinality) -> bn2 -> drop_block
//   -> relu -> conv3 1x1 -> bn3 -> [se] -> [drop_path] ; y = relu(branch + shortcut)
// shortcut = downsample(x) when given (make_downsample), else x.
// State order: conv1, bn1, conv2, bn2, conv3, bn3, se, downsample.
#pragma once
#include "nn/blocks/se.h"
#include "nn/layers/batch_norm.h"
#include "nn/layers/conv.h"
#include "nn/module.h"

namespace cardinal {

struct BottleneckConfig {
    int64_t inplanes = 0;
    int64_t planes = 0;
    int64_t stride = 1;
    int64_t cardinality = 1;
    int64_t base_width = 64;
    int64_t reduce_first = 1;    // conv1 outputs width / reduce_first
    int64_t dilation = 1;
    int64_t first_dilation = 0;  // 0: same as dilation
    AttnConfig attn;             // {"se"} for SE-ResNeXt; empty name: none
    ModulePtr downsample;        // null: identity shortcut
    double drop_block_rate = 0;  // DropBlock2d after bn2 (0: none)
    int64_t drop_block_size = 3;
    double drop_path_rate = 0;   // stochastic depth of the residual branch (0: none)
    Generator* gen = nullptr;    // initialisation and the regularisers
};

class Bottleneck : public Module {
public:
    static constexpr int64_t expansion = 4;
    explicit Bottleneck(const BottleneckConfig& config);

    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Bottleneck"; }
    // timm's zero_init_last: bn3.weight = 0, so the block starts as its shortcut.
    void zero_init_last();
    int64_t width() const { return width_; }

private:
    int64_t width_;
    Tensor forward_folded(const Tensor& x);  // eval inference, BatchNorm folded
    std::shared_ptr<Conv2d> conv1_, conv2_, conv3_;
    std::shared_ptr<BatchNorm2d> bn1_, bn2_, bn3_;
    ModulePtr drop_block_, se_, downsample_, drop_path_;
};

}  // namespace cardinal
