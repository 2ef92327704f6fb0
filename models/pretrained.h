// timm's pretrained configs: for every tag timm publishes for our architectures
// ("resnest50d.in1k", "resnext50_32x4d.a1h_in1k", ...) the eval preprocessing and class count of
// its pretrained_cfg. The table is models/data/pretrained_cfgs.json (read from timm), compiled
// into the library; the first tag of an architecture is timm's default for the bare name.
//
// Names: "arch" means timm's default tag of arch; "arch.tag" one tag. The small-image models
// have no tags.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/eval_transform.h"

namespace cardinal {

struct PretrainedCfg {
    std::string architecture;     // "resnest50d"
    std::string tag;              // "in1k"
    int64_t input_size = 224;     // square: input_size [3, S, S]
    int64_t test_input_size = 0;  // 0: timm gives none
    double crop_pct = 0.875;
    double test_crop_pct = 0;  // 0: timm gives none (crop_pct applies at the test size too)
    Interpolation interpolation = Interpolation::Bicubic;
    CropMode crop_mode = CropMode::Center;
    std::vector<double> mean, std;
    int64_t num_classes = 1000;
    std::string hf_hub_id;  // "timm/resnest50d.in1k"
    std::string license;

    std::string name() const { return architecture + "." + tag; }
    // The eval transform timm's resolve_data_config gives: at input_size / crop_pct, or with
    // test_size at test_input_size / test_crop_pct where timm has them (validate.py's default).
    EvalTransform eval_transform(bool test_size = false) const;
    // The pretrained_cfg fields as JSON (timm's names).
    nlohmann::json to_json() const;
};

// Every tag of an architecture, the default first; empty for an architecture without tags.
const std::vector<PretrainedCfg>& pretrained_tags(const std::string& architecture);

// A model name split into the architecture and its tag config.
struct ModelName {
    std::string architecture;
    const PretrainedCfg* pretrained = nullptr;  // the tag's (or default tag's); null: none
};
// "arch" or "arch.tag". ValueError for an unknown architecture (listing them) or an unknown tag
// (listing the architecture's tags).
ModelName resolve_model_name(const std::string& name);

// ImageNet-1k class descriptions ("tench, Tinca tinca", ...) in classifier order, and their
// WordNet synsets ("n01440764", ...), as timm's ImageNetInfo gives them.
const std::vector<std::string>& imagenet1k_descriptions();
const std::vector<std::string>& imagenet1k_synsets();

}  // namespace cardinal
