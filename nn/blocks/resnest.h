// timm's ResNestBottleneck (docs/timm-configs.md section 3.4).
// gw = int(planes * base_width / 64) * cardinality, out = planes * 4. avd is active when avd and
// (stride > 1 or is_first); then SplitAttn runs at
// stride 1 and AvgPool2d(3, stride, padding 1, count_include_pad) does the striding, before
// SplitAttn (avd_first) or after it:
//   conv1 1x1 -> bn1 -> relu -> [avd_first] -> conv2 = SplitAttn(gw, 3x3, radix, groups = card,
//   DropBlock after its bn0) -> [avd_last] -> conv3 1x1 -> bn3 -> [drop_path]
//   y = relu(branch + shortcut)
// State order: conv1, bn1, conv2.*, conv3, bn3, downsample.
// drop_path applies to the residual branch (timm applies it to the block input, which is inert
// there because timm never sets it).
#pragma once
#include "nn/blocks/split_attn.h"
#include "nn/layers/batch_norm.h"
#include "nn/layers/conv.h"
#include "nn/module.h"

namespace cardinal {

struct ResNestBottleneckConfig {
    int64_t inplanes = 0;
    int64_t planes = 0;
    int64_t stride = 1;
    int64_t cardinality = 1;
    int64_t base_width = 64;
    int64_t radix = 1;
    bool avd = false;
    bool avd_first = false;
    bool is_first = false;       // timm's ResNet never sets it
    int64_t dilation = 1;
    int64_t first_dilation = 0;  // 0: same as dilation
    ModulePtr downsample;        // null: identity shortcut
    double drop_block_rate = 0;
    int64_t drop_block_size = 3;
    double drop_path_rate = 0;
    Generator* gen = nullptr;
};

class ResNestBottleneck : public Module {
public:
    static constexpr int64_t expansion = 4;
    explicit ResNestBottleneck(const ResNestBottleneckConfig& config);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "ResNestBottleneck"; }
    void zero_init_last();  // bn3.weight = 0
    int64_t group_width() const { return group_width_; }

private:
    int64_t group_width_;
    Tensor forward_folded(const Tensor& x);  // eval inference, BatchNorm folded
    std::shared_ptr<Conv2d> conv1_, conv3_;
    std::shared_ptr<BatchNorm2d> bn1_, bn3_;
    std::shared_ptr<SplitAttn> conv2_;
    ModulePtr avd_first_, avd_last_, downsample_, drop_path_;
};

}  // namespace cardinal
