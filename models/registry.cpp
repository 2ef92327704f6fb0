// The named models: timm's configs (docs/timm-configs.md section 1) and one small-image
// config per family for 28x28 / 32x32 inputs (used by `cardinal train`).
#include <map>

#include "models/pretrained.h"
#include "models/resnet_config.h"
#include "tensor/error.h"
#include "tensor/escape.h"
#include "tensor/suggest.h"

namespace cardinal {
namespace {

struct Entry {
    const char* name;
    const char* kwargs;  // timm ResNet kwargs, as configs.json writes them
    const char* description;
};

// resnest_small is bench/fmnist_recipe.json's model; resnext_small its
// "also_measured" ResNeXt; seresnext_small and skresnext_small are the same skeleton with SE
// attention and with Selective-Kernel convs.
const Entry kEntries[] = {
    {"resnext50_32x4d", R"({"block": "Bottleneck", "layers": [3, 4, 6, 3], "cardinality": 32, "base_width": 4})",
     "ResNeXt-50 32x4d"},
    {"resnext101_32x8d", R"({"block": "Bottleneck", "layers": [3, 4, 23, 3], "cardinality": 32, "base_width": 8})",
     "ResNeXt-101 32x8d"},
    {"seresnext50_32x4d",
     R"({"block": "Bottleneck", "layers": [3, 4, 6, 3], "cardinality": 32, "base_width": 4, "block_args": {"attn_layer": "se"}})",
     "SE-ResNeXt-50 32x4d"},
    {"seresnext101_32x4d",
     R"({"block": "Bottleneck", "layers": [3, 4, 23, 3], "cardinality": 32, "base_width": 4, "block_args": {"attn_layer": "se"}})",
     "SE-ResNeXt-101 32x4d"},
    {"skresnet18",
     R"({"block": "SelectiveKernelBasic", "layers": [2, 2, 2, 2], "zero_init_last": false, "block_args": {"sk_kwargs": {"rd_ratio": 0.125, "rd_divisor": 16, "split_input": true}}})",
     "SK-ResNet-18"},
    {"skresnet34",
     R"({"block": "SelectiveKernelBasic", "layers": [3, 4, 6, 3], "zero_init_last": false, "block_args": {"sk_kwargs": {"rd_ratio": 0.125, "rd_divisor": 16, "split_input": true}}})",
     "SK-ResNet-34"},
    {"skresnext50_32x4d",
     R"({"block": "SelectiveKernelBottleneck", "layers": [3, 4, 6, 3], "cardinality": 32, "base_width": 4, "zero_init_last": false, "block_args": {"sk_kwargs": {"rd_ratio": 0.0625, "rd_divisor": 32, "split_input": false}}})",
     "SK-ResNeXt-50 32x4d"},
    {"resnest14d",
     R"({"block": "ResNestBottleneck", "layers": [1, 1, 1, 1], "stem_type": "deep", "stem_width": 32, "avg_down": true, "base_width": 64, "cardinality": 1, "block_args": {"radix": 2, "avd": true, "avd_first": false}})",
     "ResNeSt-14d"},
    {"resnest26d",
     R"({"block": "ResNestBottleneck", "layers": [2, 2, 2, 2], "stem_type": "deep", "stem_width": 32, "avg_down": true, "base_width": 64, "cardinality": 1, "block_args": {"radix": 2, "avd": true, "avd_first": false}})",
     "ResNeSt-26d"},
    {"resnest50d",
     R"({"block": "ResNestBottleneck", "layers": [3, 4, 6, 3], "stem_type": "deep", "stem_width": 32, "avg_down": true, "base_width": 64, "cardinality": 1, "block_args": {"radix": 2, "avd": true, "avd_first": false}})",
     "ResNeSt-50d"},
    {"resnest101e",
     R"({"block": "ResNestBottleneck", "layers": [3, 4, 23, 3], "stem_type": "deep", "stem_width": 64, "avg_down": true, "base_width": 64, "cardinality": 1, "block_args": {"radix": 2, "avd": true, "avd_first": false}})",
     "ResNeSt-101e"},
    {"resnest200e",
     R"({"block": "ResNestBottleneck", "layers": [3, 24, 36, 3], "stem_type": "deep", "stem_width": 64, "avg_down": true, "base_width": 64, "cardinality": 1, "block_args": {"radix": 2, "avd": true, "avd_first": false}})",
     "ResNeSt-200e"},
    {"resnest269e",
     R"({"block": "ResNestBottleneck", "layers": [3, 30, 48, 8], "stem_type": "deep", "stem_width": 64, "avg_down": true, "base_width": 64, "cardinality": 1, "block_args": {"radix": 2, "avd": true, "avd_first": false}})",
     "ResNeSt-269e"},
    {"resnest50d_4s2x40d",
     R"({"block": "ResNestBottleneck", "layers": [3, 4, 6, 3], "stem_type": "deep", "stem_width": 32, "avg_down": true, "base_width": 40, "cardinality": 2, "block_args": {"radix": 4, "avd": true, "avd_first": true}})",
     "ResNeSt-50d 4s2x40d"},
    {"resnest50d_1s4x24d",
     R"({"block": "ResNestBottleneck", "layers": [3, 4, 6, 3], "stem_type": "deep", "stem_width": 32, "avg_down": true, "base_width": 24, "cardinality": 4, "block_args": {"radix": 1, "avd": true, "avd_first": true}})",
     "ResNeSt-50d 1s4x24d"},
    {"seresnet50", R"({"block": "Bottleneck", "layers": [3, 4, 6, 3], "block_args": {"attn_layer": "se"}})",
     "SE-ResNet-50"},
    {"resnet50d",
     R"({"block": "Bottleneck", "layers": [3, 4, 6, 3], "stem_type": "deep", "stem_width": 32, "avg_down": true})",
     "ResNet-50d"},
    {"resnext_small",
     R"({"layers": [1, 1, 1, 1], "channels": [16, 32, 64, 128], "num_classes": 10, "in_chans": 1, "stem_type": "deep", "stem_width": 8, "avg_down": true, "block": "Bottleneck", "cardinality": 8, "base_width": 4, "stem_stride": 1, "stem_pool": false})",
     "small ResNeXt for 28x28 / 32x32 images"},
    {"seresnext_small",
     R"({"layers": [1, 1, 1, 1], "channels": [16, 32, 64, 128], "num_classes": 10, "in_chans": 1, "stem_type": "deep", "stem_width": 8, "avg_down": true, "block": "Bottleneck", "cardinality": 8, "base_width": 4, "stem_stride": 1, "stem_pool": false, "block_args": {"attn_layer": "se"}})",
     "small SE-ResNeXt for 28x28 / 32x32 images"},
    {"skresnext_small",
     R"({"layers": [1, 1, 1, 1], "channels": [16, 32, 64, 128], "num_classes": 10, "in_chans": 1, "stem_type": "deep", "stem_width": 8, "avg_down": true, "block": "SelectiveKernelBottleneck", "cardinality": 8, "base_width": 4, "zero_init_last": false, "stem_stride": 1, "stem_pool": false, "block_args": {"sk_kwargs": {"rd_ratio": 0.0625, "rd_divisor": 16, "split_input": false}}})",
     "small SK-ResNeXt for 28x28 / 32x32 images"},
    {"resnest_small",
     R"({"layers": [1, 1, 1, 1], "channels": [8, 16, 32, 64], "num_classes": 10, "in_chans": 1, "stem_type": "deep", "stem_width": 8, "avg_down": true, "block": "ResNestBottleneck", "cardinality": 1, "base_width": 64, "block_args": {"radix": 2, "avd": true, "avd_first": false}, "stem_stride": 1, "stem_pool": false})",
     "small ResNeSt for 28x28 / 32x32 images (the default Fashion-MNIST model)"},
};

const std::map<std::string, ModelInfo>& registry() {
    static const std::map<std::string, ModelInfo> r = [] {
        std::map<std::string, ModelInfo> m;
        for (const Entry& e : kEntries) {
            ModelInfo info;
            info.name = e.name;
            info.config = ResNetConfig::from_json(nlohmann::json::parse(e.kwargs));
            info.description = e.description;
            // timm's default tag's eval size (models/pretrained.h).
            const std::vector<PretrainedCfg>& tags = pretrained_tags(info.name);
            if (!tags.empty()) {
                info.input_size = tags.front().input_size;
                info.crop_pct = tags.front().crop_pct;
            }
            if (info.config.stem_stride == 1) {  // the small-image models
                info.input_size = 28;
                info.crop_pct = 1.0;
            }
            m.emplace(e.name, std::move(info));
        }
        return m;
    }();
    return r;
}

}  // namespace

std::vector<std::string> model_names() {
    std::vector<std::string> names;
    for (const Entry& e : kEntries) names.push_back(e.name);
    return names;
}

const ModelInfo& model_info(const std::string& name) {
    auto it = registry().find(name);
    if (it == registry().end()) {
        std::string known;
        for (const Entry& e : kEntries) known += (known.empty() ? "" : ", ") + std::string(e.name);
        fail<ValueError>("unknown model '", escape_for_message(name), "'",
                         did_you_mean(name, model_names()), " (known: ", known, ")");
    }
    return it->second;
}

}  // namespace cardinal
