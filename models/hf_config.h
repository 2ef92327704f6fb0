// timm's Hugging Face model folder config (config.json beside model.safetensors, as timm's
// push_to_hub / save_for_hf write it):
//   {"architecture": "resnest50d", "num_classes": 1000, "num_features": 2048,
//    "label_names": [...] (or {"0": ...}), "label_descriptions": {name: description},
//    "model_args": {"in_chans": 1, ...},
//    "pretrained_cfg": {"tag": "in1k", "input_size": [3, 224, 224], "interpolation": "bilinear",
//                       "crop_pct": 0.875, "crop_mode": "center", "mean": [...], "std": [...],
//                       "num_classes": 1000, ...}}
// and the legacy single-object form (the pretrained_cfg fields beside "architecture").
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/eval_transform.h"

namespace cardinal {

struct HfConfig {
    std::string path;
    std::string architecture;  // a registered model name
    std::string tag;           // pretrained_cfg.tag, or ""
    int64_t num_classes = -1;  // -1: not given
    int64_t in_chans = -1;     // model_args.in_chans; -1: not given
    EvalTransform eval;        // pretrained_cfg's fields over the tag's (or timm's defaults)
    int64_t test_input_size = 0;
    double test_crop_pct = 0;
    // One name per class when the config has label_names (descriptions substituted where
    // label_descriptions has them), else empty.
    std::vector<std::string> labels;
};

// Reads and checks config.json: FormatError for bad JSON, ValueError naming the file and the
// field for an unknown architecture, a model_args key we cannot build, or a bad value.
HfConfig read_hf_config(const std::string& path);

}  // namespace cardinal
