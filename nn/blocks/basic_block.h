// timm's ResNet BasicBlock (ResNet-18/34 style; expansion 1, out = planes):
//   conv1 3x3 (stride) -> bn1 -> drop_block -> relu -> conv2 3x3 -> bn2 -> [se] -> [drop_path]
//   y = relu(branch + shortcut)
// timm allows only cardinality 1 and base_width 64 here. State order: conv1, bn1, conv2, bn2,
// se, downsample.
#pragma once
#include "nn/blocks/se.h"
#include "nn/layers/batch_norm.h"
#include "nn/layers/conv.h"
#include "nn/module.h"

namespace cardinal {

struct BasicBlockConfig {
    int64_t inplanes = 0;
    int64_t planes = 0;
    int64_t stride = 1;
    int64_t cardinality = 1;     // must be 1
    int64_t base_width = 64;     // must be 64
    int64_t reduce_first = 1;    // conv1 outputs planes / reduce_first
    int64_t dilation = 1;
    int64_t first_dilation = 0;  // 0: same as dilation
    AttnConfig attn;             // empty name: none
    ModulePtr downsample;        // null: identity shortcut
    double drop_block_rate = 0;
    int64_t drop_block_size = 3;
    double drop_path_rate = 0;
    Generator* gen = nullptr;
};

class BasicBlock : public Module {
public:
    static constexpr int64_t expansion = 1;
    explicit BasicBlock(const BasicBlockConfig& config);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "BasicBlock"; }
    void zero_init_last();  // bn2.weight = 0

private:
    Tensor forward_folded(const Tensor& x);  // eval inference, BatchNorm folded
    std::shared_ptr<Conv2d> conv1_, conv2_;
    std::shared_ptr<BatchNorm2d> bn1_, bn2_;
    ModulePtr drop_block_, se_, downsample_, drop_path_;
};

}  // namespace cardinal
