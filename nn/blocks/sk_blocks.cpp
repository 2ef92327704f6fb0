#include "nn/blocks/sk_blocks.h"

#include "nn/init.h"
#include "nn/layers/activation.h"
#include "nn/layers/conv_bn_fold.h"
#include "nn/layers/dropout.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"

namespace cardinal {
namespace {

void check_common(const char* block, const SkBlockConfig& c) {
    check<ValueError>(c.inplanes > 0 && c.planes > 0, block, ": inplanes and planes must be positive, got ",
                      c.inplanes, " and ", c.planes);
    check<ValueError>(c.stride > 0 && c.dilation > 0 && c.first_dilation >= 0 && c.reduce_first > 0, block,
                      ": stride, dilation and reduce_first must be positive, got stride=", c.stride,
                      " dilation=", c.dilation, " reduce_first=", c.reduce_first);
}

// The tail of both blocks: y = relu(drop_path(se(last(branch))) + shortcut), last a ConvNormAct
// without act. In inference (BatchNorm folds, DropPath is the identity) the residual add and the
// ReLU run inside the last convolution as post-ops, or with SE inside SE's fused gate.
Tensor finish(const char* block, ConvNormAct& last, const Tensor& branch, const Tensor& x, const ModulePtr& se,
              const ModulePtr& drop_path, const ModulePtr& downsample) {
    const auto se_module = std::dynamic_pointer_cast<SEModule>(se);
    const bool inference = can_fold_conv_bn(*last.conv(), *last.bn(), branch) &&
                           (!drop_path || !drop_path->is_training()) && (!se || se_module);
    if (inference) {
        Tensor shortcut = downsample ? downsample->forward(x) : x;
        const Shape out{branch.size(0), last.bn()->num_features(), branch.size(2), branch.size(3)};
        check<ShapeError>(out == shortcut.shape(), block, ": branch output ", shape_str(out),
                          " does not match the shortcut ", describe(shortcut),
                          " (a block that changes channels or stride needs a downsample)");
        if (!se) return conv_bn_act(*last.conv(), *last.bn(), branch, true, shortcut);
        return se_module->forward_fused(last.forward(branch), shortcut, true);
    }
    Tensor y = last.forward(branch);
    if (se) y = se->forward(y);
    if (drop_path) y = drop_path->forward(y);
    Tensor shortcut = downsample ? downsample->forward(x) : x;
    check<ShapeError>(y.shape() == shortcut.shape(), block, ": branch output ", describe(y),
                      " does not match the shortcut ", describe(shortcut),
                      " (a block that changes channels or stride needs a downsample)");
    return add_relu(y, shortcut);  // one fused pass each way
}

}  // namespace

SelectiveKernelBasic::SelectiveKernelBasic(const SkBlockConfig& c) {
    check_common("SelectiveKernelBasic", c);
    check<ValueError>(c.cardinality == 1, "SelectiveKernelBasic: only supports cardinality 1, got ", c.cardinality);
    check<ValueError>(c.base_width == 64, "SelectiveKernelBasic: does not support base_width ", c.base_width,
                      " (must be 64)");
    int64_t first_planes = c.planes / c.reduce_first;
    check<ValueError>(first_planes > 0, "SelectiveKernelBasic: planes / reduce_first is 0");
    int64_t out = c.planes * expansion;
    int64_t first_dilation = c.first_dilation > 0 ? c.first_dilation : c.dilation;
    SelectiveKernelConfig skc{.in_channels = c.inplanes,
                              .out_channels = first_planes,
                              .stride = c.stride,
                              .dilation = first_dilation,
                              .groups = 1,
                              .sk = c.sk,
                              .gen = c.gen};
    conv1_ = register_module("conv1", std::make_shared<SelectiveKernel>(skc));
    conv2_ = register_module("conv2", std::make_shared<ConvNormAct>(
                                          Conv2dOptions(first_planes, out, 3).padding(c.dilation).dilation(c.dilation),
                                          false, c.gen));
    se_ = make_attn(c.attn, out, c.gen);
    if (se_) register_module("se", se_);
    register_module("act", std::make_shared<ReLU>());
    if (c.downsample) downsample_ = register_module("downsample", c.downsample);
    if (c.drop_path_rate > 0)
        drop_path_ = register_module("drop_path", std::make_shared<DropPath>(c.drop_path_rate, c.gen));
}

void SelectiveKernelBasic::zero_init_last() { init::zeros_(conv2_->bn()->weight()); }

Tensor SelectiveKernelBasic::forward(const Tensor& x) {
    return finish("SelectiveKernelBasic", *conv2_, conv1_->forward(x), x, se_, drop_path_, downsample_);
}

SelectiveKernelBottleneck::SelectiveKernelBottleneck(const SkBlockConfig& c) {
    check_common("SelectiveKernelBottleneck", c);
    check<ValueError>(c.cardinality > 0 && c.base_width > 0,
                      "SelectiveKernelBottleneck: cardinality and base_width must be positive, got ",
                      c.cardinality, " and ", c.base_width);
    int64_t width = c.planes * c.base_width / 64 * c.cardinality;
    check<ValueError>(width > 0, "SelectiveKernelBottleneck: width = floor(planes * base_width / 64) * "
                      "cardinality is 0 (planes=", c.planes, ", base_width=", c.base_width, ")");
    int64_t first_planes = width / c.reduce_first;
    check<ValueError>(first_planes > 0, "SelectiveKernelBottleneck: width / reduce_first is 0");
    int64_t out = c.planes * expansion;
    int64_t first_dilation = c.first_dilation > 0 ? c.first_dilation : c.dilation;
    conv1_ = register_module("conv1", std::make_shared<ConvNormAct>(Conv2dOptions(c.inplanes, first_planes, 1),
                                                                    true, c.gen));
    SelectiveKernelConfig skc{.in_channels = first_planes,
                              .out_channels = width,
                              .stride = c.stride,
                              .dilation = first_dilation,
                              .groups = c.cardinality,
                              .sk = c.sk,
                              .gen = c.gen};
    conv2_ = register_module("conv2", std::make_shared<SelectiveKernel>(skc));
    conv3_ = register_module("conv3", std::make_shared<ConvNormAct>(Conv2dOptions(width, out, 1), false, c.gen));
    se_ = make_attn(c.attn, out, c.gen);
    if (se_) register_module("se", se_);
    register_module("act", std::make_shared<ReLU>());
    if (c.downsample) downsample_ = register_module("downsample", c.downsample);
    if (c.drop_path_rate > 0)
        drop_path_ = register_module("drop_path", std::make_shared<DropPath>(c.drop_path_rate, c.gen));
}

void SelectiveKernelBottleneck::zero_init_last() { init::zeros_(conv3_->bn()->weight()); }

Tensor SelectiveKernelBottleneck::forward(const Tensor& x) {
    return finish("SelectiveKernelBottleneck", *conv3_, conv2_->forward(conv1_->forward(x)), x, se_, drop_path_,
                  downsample_);
}

}  // namespace cardinal
