#include "models/resnet.h"

#include "autograd/grad_mode.h"
#include "nn/blocks/blocks.h"
#include "nn/layers/layers.h"
#include "ops/dropout.h"
#include "ops/mac_counter.h"
#include "ops/shape_ops.h"

namespace cardinal {
namespace {

// timm's get_padding for the projection conv when down_kernel_size = 3.
int64_t same_padding(int64_t k, int64_t s) { return ((s - 1) + (k - 1)) / 2; }

ModulePtr make_shortcut(const ResNetConfig& c, int64_t in, int64_t out, int64_t stride, Generator* gen) {
    int64_t k = (stride == 1) ? 1 : c.down_kernel_size;
    if (c.avg_down || k == 1) return make_downsample(in, out, stride, c.avg_down, gen);
    auto seq = std::make_shared<Sequential>();
    seq->push_back(std::make_shared<Conv2d>(
        Conv2dOptions(in, out, k).stride(stride).padding(same_padding(k, stride)).bias(false), gen));
    seq->push_back(std::make_shared<BatchNorm2d>(out));
    return seq;
}

AttnConfig attn_of(const ResNetConfig& c) {
    AttnConfig a;
    if (c.block_args.attn_layer) {
        a.name = c.block_args.attn_layer->name;
        a.rd_ratio = c.block_args.attn_layer->rd_ratio;
        a.rd_divisor = c.block_args.attn_layer->rd_divisor;
    }
    return a;
}

}  // namespace

ResNet::ResNet(const ResNetConfig& config, Generator* gen) : config_(config), gen_(gen) {
    config_.validate();
    const ResNetConfig& c = config_;

    // Stem.
    int64_t inplanes = 64;
    if (c.stem_type.empty()) {
        conv1_ = register_module("conv1", std::make_shared<Conv2d>(
            Conv2dOptions(c.in_chans, 64, 7).stride(c.stem_stride).padding(3).bias(false), gen));
    } else {
        int64_t sw = c.stem_width;
        int64_t first = c.stem_type == "deep_tiered" ? 3 * (sw / 4) : sw;
        inplanes = 2 * sw;
        auto stem = std::make_shared<Sequential>();
        stem->push_back(std::make_shared<Conv2d>(
            Conv2dOptions(c.in_chans, first, 3).stride(c.stem_stride).padding(1).bias(false), gen));
        stem->push_back(std::make_shared<BatchNorm2d>(first));
        stem->push_back(std::make_shared<ReLU>());
        stem->push_back(std::make_shared<Conv2d>(Conv2dOptions(first, sw, 3).padding(1).bias(false), gen));
        stem->push_back(std::make_shared<BatchNorm2d>(sw));
        stem->push_back(std::make_shared<ReLU>());
        stem->push_back(std::make_shared<Conv2d>(Conv2dOptions(sw, inplanes, 3).padding(1).bias(false), gen));
        conv1_ = register_module("conv1", stem);
    }
    bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(inplanes));
    act1_ = register_module("act1", std::make_shared<ReLU>());
    if (c.stem_pool)
        maxpool_ = register_module("maxpool", std::make_shared<MaxPool2d>(Pool2dOptions(3).stride(2).padding(1)));
    else
        maxpool_ = register_module("maxpool", std::make_shared<Identity>());

    // Stages. Stochastic depth grows linearly over all blocks (timm's drop_path schedule);
    // DropBlock acts in stages 3 (block 5, gamma scaled by 1/4) and 4 (block 3), as timm's drop_blocks.
    int64_t total_blocks = 0, block_idx = 0;
    for (int64_t n : c.layers) total_blocks += n;
    const int64_t expansion = c.is_bottleneck() ? 4 : 1;
    for (int s = 0; s < 4; ++s) {
        auto stage = std::make_shared<Sequential>();
        const int64_t planes = c.channels[s];
        const double db_rate = s == 2 ? c.drop_block_rate * 0.25 : (s == 3 ? c.drop_block_rate : 0.0);
        const int64_t db_size = s == 2 ? 5 : 3;
        for (int64_t b = 0; b < c.layers[s]; ++b, ++block_idx) {
            const int64_t stride = (s > 0 && b == 0) ? 2 : 1;
            ModulePtr downsample;
            if (b == 0 && (stride != 1 || inplanes != planes * expansion))
                downsample = make_shortcut(c, inplanes, planes * expansion, stride, gen);
            const double dpr = total_blocks > 1 ? c.drop_path_rate * block_idx / (total_blocks - 1) : 0.0;
            ModulePtr block;
            if (c.block == "Bottleneck") {
                BottleneckConfig bc;
                bc.inplanes = inplanes; bc.planes = planes; bc.stride = stride;
                bc.cardinality = c.cardinality; bc.base_width = c.base_width;
                bc.attn = attn_of(c); bc.downsample = downsample;
                bc.drop_block_rate = db_rate; bc.drop_block_size = db_size;
                bc.drop_path_rate = dpr; bc.gen = gen;
                auto blk = std::make_shared<Bottleneck>(bc);
                if (c.zero_init_last) blk->zero_init_last();
                block = blk;
            } else if (c.block == "BasicBlock") {
                BasicBlockConfig bc;
                bc.inplanes = inplanes; bc.planes = planes; bc.stride = stride;
                bc.cardinality = c.cardinality; bc.base_width = c.base_width;
                bc.attn = attn_of(c); bc.downsample = downsample;
                bc.drop_block_rate = db_rate; bc.drop_block_size = db_size;
                bc.drop_path_rate = dpr; bc.gen = gen;
                auto blk = std::make_shared<BasicBlock>(bc);
                if (c.zero_init_last) blk->zero_init_last();
                block = blk;
            } else if (c.block == "ResNestBottleneck") {
                ResNestBottleneckConfig rc;
                rc.inplanes = inplanes; rc.planes = planes; rc.stride = stride;
                rc.cardinality = c.cardinality; rc.base_width = c.base_width;
                rc.radix = c.block_args.radix; rc.avd = c.block_args.avd; rc.avd_first = c.block_args.avd_first;
                rc.downsample = downsample;
                rc.drop_block_rate = db_rate; rc.drop_block_size = db_size;
                rc.drop_path_rate = dpr; rc.gen = gen;
                auto blk = std::make_shared<ResNestBottleneck>(rc);
                if (c.zero_init_last) blk->zero_init_last();
                block = blk;
            } else {  // SelectiveKernelBasic / SelectiveKernelBottleneck
                SkBlockConfig kc;
                kc.inplanes = inplanes; kc.planes = planes; kc.stride = stride;
                kc.cardinality = c.cardinality; kc.base_width = c.base_width;
                kc.sk.rd_ratio = c.block_args.sk_kwargs.rd_ratio;
                kc.sk.rd_divisor = c.block_args.sk_kwargs.rd_divisor;
                kc.sk.split_input = c.block_args.sk_kwargs.split_input;
                kc.attn = attn_of(c); kc.downsample = downsample;
                kc.drop_path_rate = dpr; kc.gen = gen;
                if (c.block == "SelectiveKernelBasic") {
                    auto blk = std::make_shared<SelectiveKernelBasic>(kc);
                    if (c.zero_init_last) blk->zero_init_last();
                    block = blk;
                } else {
                    auto blk = std::make_shared<SelectiveKernelBottleneck>(kc);
                    if (c.zero_init_last) blk->zero_init_last();
                    block = blk;
                }
            }
            stage->push_back(block);
            inplanes = planes * expansion;
        }
        layers_[s] = register_module("layer" + std::to_string(s + 1), stage);
    }
    num_features_ = inplanes;
    if (c.num_classes > 0) fc_ = register_module("fc", std::make_shared<Linear>(inplanes, c.num_classes, true, gen));
}

Tensor ResNet::forward_features(const Tensor& x) {
    check<ShapeError>(x.dim() == 4 && x.size(1) == config_.in_chans, "ResNet: expected input [N, ",
                      config_.in_chans, ", H, W], got ", describe(x));
    Tensor y = (*maxpool_)((*act1_)((*bn1_)((*conv1_)(x))));
    for (auto& layer : layers_) y = (*layer)(y);
    return y;
}

Tensor ResNet::forward(const Tensor& x) {
    Tensor y = flatten(global_avg_pool2d(forward_features(x)), 1);
    if (config_.drop_rate > 0) y = dropout(y, config_.drop_rate, is_training(), gen_);
    return fc_ ? (*fc_)(y) : y;
}

std::shared_ptr<ResNet> create_model(const std::string& name, Generator* gen) {
    return std::make_shared<ResNet>(model_info(name).config, gen);
}

int64_t count_macs(ResNet& model, int64_t h, int64_t w) {
    NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    MacCounter counter;
    model.forward(zeros({1, model.config().in_chans, h, w}));
    model.train(was_training);
    return counter.total();
}

}  // namespace cardinal
