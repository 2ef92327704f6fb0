#include "models/resnet.h"

#include "autograd/grad_mode.h"
#include "nn/blocks/blocks.h"
#include "nn/layers/layers.h"
#include "ops/dropout.h"
#include "ops/mac_counter.h"
#include "nn/layers/conv_bn_fold.h"
#include "ops/shape_ops.h"
#include "tensor/error.h"

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

SkKwargs sk_of(const ResNetConfig& c) {
    SkKwargs sk;
    sk.rd_ratio = c.block_args.sk_kwargs.rd_ratio;
    sk.rd_divisor = c.block_args.sk_kwargs.rd_divisor;
    sk.split_input = c.block_args.sk_kwargs.split_input;
    return sk;
}

// Where a block sits in the network: the fields every block config shares.
struct BlockPlace {
    int64_t inplanes, planes, stride;
    ModulePtr downsample;
    double drop_path_rate;
    Generator* gen;
};

// Fills the shared fields of a block's config, builds it, and applies zero_init_last.
template <typename Block, typename Config>
ModulePtr build_block(Config cfg, const ResNetConfig& c, const BlockPlace& p) {
    cfg.inplanes = p.inplanes;
    cfg.planes = p.planes;
    cfg.stride = p.stride;
    cfg.cardinality = c.cardinality;
    cfg.base_width = c.base_width;
    cfg.downsample = p.downsample;
    cfg.drop_path_rate = p.drop_path_rate;
    cfg.gen = p.gen;
    auto block = std::make_shared<Block>(cfg);
    if (c.zero_init_last) block->zero_init_last();
    return block;
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
            const BlockPlace place{inplanes, planes, stride, downsample, dpr, gen};
            ModulePtr block;
            if (c.block == "Bottleneck")
                block = build_block<Bottleneck>(
                    BottleneckConfig{.attn = attn_of(c), .drop_block_rate = db_rate, .drop_block_size = db_size}, c,
                    place);
            else if (c.block == "BasicBlock")
                block = build_block<BasicBlock>(
                    BasicBlockConfig{.attn = attn_of(c), .drop_block_rate = db_rate, .drop_block_size = db_size}, c,
                    place);
            else if (c.block == "ResNestBottleneck")
                block = build_block<ResNestBottleneck>(
                    ResNestBottleneckConfig{.radix = c.block_args.radix, .avd = c.block_args.avd,
                                            .avd_first = c.block_args.avd_first, .drop_block_rate = db_rate,
                                            .drop_block_size = db_size},
                    c, place);
            else if (c.block == "SelectiveKernelBasic")
                block = build_block<SelectiveKernelBasic>(SkBlockConfig{.sk = sk_of(c), .attn = attn_of(c)}, c, place);
            else
                block = build_block<SelectiveKernelBottleneck>(SkBlockConfig{.sk = sk_of(c), .attn = attn_of(c)}, c,
                                                               place);
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
    // float32 runs channels-last from the stem to the global pool, in inference and in training
    // (forward and backward): every oneDNN convolution then reads and writes NHWC directly, with
    // no activation reorder (docs/performance.md). float64, the reference path, stays NCHW.
    // Values are the same either way; only the strides differ.
    const bool channels_last = x.dtype() == DType::Float32;
    const Tensor xin = channels_last ? contiguous(x, MemoryFormat::ChannelsLast) : x;
    Tensor y;
    auto conv = std::dynamic_pointer_cast<Conv2d>(conv1_);
    auto bn = std::dynamic_pointer_cast<BatchNorm2d>(bn1_);
    if (conv && bn && can_fold_conv_bn(*conv, *bn, xin))  // eval inference: BatchNorm folded
        y = (*maxpool_)(conv_bn_act(*conv, *bn, xin, true));
    else
        y = (*maxpool_)((*act1_)((*bn1_)((*conv1_)(xin))));
    for (auto& layer : layers_) y = (*layer)(y);
    return y;
}

Tensor ResNet::forward(const Tensor& x) {
    Tensor y = flatten(global_avg_pool2d(forward_features(x)), 1);
    if (config_.drop_rate > 0) y = dropout(y, config_.drop_rate, is_training(), gen_);
    return fc_ ? (*fc_)(y) : y;
}

std::shared_ptr<ResNet> create_model(const std::string& name, const ModelOverrides& overrides,
                                     Generator* gen) {
    ResNetConfig config = model_info(name).config;
    if (overrides.num_classes) {
        check<ValueError>(*overrides.num_classes >= 0, "create_model ", name,
                          ": num_classes must be >= 0 (0: no classifier), got ",
                          *overrides.num_classes);
        config.num_classes = *overrides.num_classes;
    }
    if (overrides.in_chans) {
        check<ValueError>(*overrides.in_chans >= 1, "create_model ", name,
                          ": in_chans must be >= 1, got ", *overrides.in_chans);
        config.in_chans = *overrides.in_chans;
    }
    return std::make_shared<ResNet>(config, gen);
}

std::shared_ptr<ResNet> create_model(const std::string& name, Generator* gen) {
    return create_model(name, ModelOverrides{}, gen);
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
