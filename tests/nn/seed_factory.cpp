#include "tests/nn/seed_factory.h"

#include "nn/blocks/seed/resnext_block.h"
#include "nn/blocks/seed/se_block.h"
#include "nn/blocks/seed/sk_conv.h"
#include "nn/blocks/seed/splat_conv2d.h"

namespace cardinal::testing {

namespace {

// An int or an [h, w] pair, as PyTorch accepts both.
seed::Size2 size2(const nlohmann::json& v) {
    if (v.is_array()) return {v.at(0).get<int64_t>(), v.at(1).get<int64_t>()};
    return {v.get<int64_t>(), v.get<int64_t>()};
}

}  // namespace

std::shared_ptr<Module> make_seed_block(const nlohmann::json& spec) {
    const std::string builder = spec.at("builder").get<std::string>();
    const nlohmann::json& k = spec.at("kwargs");
    if (builder == "ResNeXt_Block" || builder == "SE_ResNeXt_Block") {
        const int64_t in = k.at("in_chnls").get<int64_t>(), card = k.at("cardinality").get<int64_t>(),
                      depth = k.at("group_depth").get<int64_t>(), stride = k.value("stride", int64_t{1});
        if (builder == "ResNeXt_Block") return std::make_shared<seed::ResNeXtBlock>(in, card, depth, stride);
        return std::make_shared<seed::SEResNeXtBlock>(in, card, depth, stride);
    }
    if (builder == "SEBlock") return std::make_shared<seed::SEBlock>(k.at("channels").get<int64_t>());
    if (builder == "SKConv")
        return std::make_shared<seed::SKConv>(
            k.at("in_channels").get<int64_t>(), k.at("out_channels").get<int64_t>(),
            k.value("stride", int64_t{1}), k.value("M", int64_t{2}), k.value("r", int64_t{16}),
            k.value("L", int64_t{32}));
    if (builder == "SplAtConv2d") {
        check<ValueError>(k.value("norm_layer", std::string("BatchNorm2d")) == "BatchNorm2d",
                          "make_seed_block: SplAtConv2d supports only norm_layer BatchNorm2d");
        seed::SplAtConv2dOptions o(k.at("in_channels").get<int64_t>(), k.at("channels").get<int64_t>(),
                                   size2(k.at("kernel_size")));
        o.stride(size2(k.value("stride", nlohmann::json(1))))
            .padding(size2(k.value("padding", nlohmann::json(0))))
            .dilation(size2(k.value("dilation", nlohmann::json(1))))
            .groups(k.value("groups", int64_t{1}))
            .bias(k.value("bias", true))
            .radix(k.value("radix", int64_t{2}))
            .reduction_factor(k.value("reduction_factor", int64_t{4}))
            .rectify(k.value("rectify", false))
            .rectify_avg(k.value("rectify_avg", false))
            .dropblock_prob(k.value("dropblock_prob", 0.0));
        return std::make_shared<seed::SplAtConv2d>(o);
    }
    fail<ValueError>("make_seed_block: unknown builder '", builder, "'");
}

}  // namespace cardinal::testing
