// timm's SKNet residual blocks (docs/timm-configs.md section 3.2, 3.3).
//
// SelectiveKernelBasic (expansion 1, out = planes):
//   conv1 = SelectiveKernel(inplanes -> planes, stride) ; conv2 = ConvNormAct 3x3 planes -> planes,
//   no act ; [se] ; [drop_path] ; y = relu(branch + shortcut)
// SelectiveKernelBottleneck (expansion 4, width = floor(planes * base_width / 64) * cardinality):
//   conv1 = ConvNormAct 1x1 inplanes -> width ; conv2 = SelectiveKernel(width -> width, stride,
//   groups = cardinality) ; conv3 = ConvNormAct 1x1 width -> out, no act ; [se] ; [drop_path]
//   y = relu(branch + shortcut)
// State order: conv1, conv2, conv3, se, downsample.
#pragma once
#include "nn/blocks/conv_norm_act.h"
#include "nn/blocks/se.h"
#include "nn/blocks/selective_kernel.h"
#include "nn/module.h"

namespace cardinal {

struct SkBlockConfig {
    int64_t inplanes = 0;
    int64_t planes = 0;
    int64_t stride = 1;
    int64_t cardinality = 1;     // the basic block requires 1
    int64_t base_width = 64;     // the basic block requires 64
    int64_t reduce_first = 1;
    int64_t dilation = 1;
    int64_t first_dilation = 0;  // 0: same as dilation
    SkKwargs sk;
    AttnConfig attn;             // empty name: none
    ModulePtr downsample;        // null: identity shortcut
    double drop_path_rate = 0;
    Generator* gen = nullptr;
};

class SelectiveKernelBasic : public Module {
public:
    static constexpr int64_t expansion = 1;
    explicit SelectiveKernelBasic(const SkBlockConfig& config);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "SelectiveKernelBasic"; }
    void zero_init_last();  // conv2.bn.weight = 0

private:
    std::shared_ptr<SelectiveKernel> conv1_;
    std::shared_ptr<ConvNormAct> conv2_;
    ModulePtr se_, downsample_, drop_path_;
};

class SelectiveKernelBottleneck : public Module {
public:
    static constexpr int64_t expansion = 4;
    explicit SelectiveKernelBottleneck(const SkBlockConfig& config);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "SelectiveKernelBottleneck"; }
    void zero_init_last();  // conv3.bn.weight = 0

private:
    std::shared_ptr<ConvNormAct> conv1_, conv3_;
    std::shared_ptr<SelectiveKernel> conv2_;
    ModulePtr se_, downsample_, drop_path_;
};

}  // namespace cardinal
