// Which network `cardinal infer` builds, how its images are preprocessed and what its classes
// are called, from the first of these that applies:
//   1. --config FILE: a ResNetConfig file (models/infer.h load_config_file);
//   2. an HF folder's config.json (--model-dir DIR, or a config.json beside --weights):
//      the architecture, num_classes / model_args.in_chans, pretrained_cfg, label names;
//      --model, when also given, must name the same architecture;
//   3. --model NAME or NAME.TAG: the registry's config and the tag's pretrained_cfg;
//   4. the weights file's metadata as `cardinal train` writes it (model, config, mean, std,
//      input_size, label_names).
// Preprocessing falls back to timm's defaults (bicubic, crop 0.875, ImageNet mean/std) where a
// source has none; the PreprocessOverrides apply last. Class names: --labels, else the config's
// label names, else the metadata's, else ImageNet-1k's for a 1000-class model.
// A config whose class count differs from the weights' fc is a ValueError (unless the options
// allow skipping the classifier).
#pragma once
#include <string>
#include <vector>

#include "io/eval_transform.h"
#include "io/safetensors.h"
#include "models/infer.h"
#include "models/resnet_config.h"

namespace cardinal {

struct InferModel {
    std::string name;          // "resnest50d.in1k", "resnest_small", a config file
    std::string source;        // one line: where the config came from
    std::string weights_path;  // the file to load
    ResNetConfig config;
    EvalTransform transform;
    std::vector<std::string> labels;  // empty: unnamed classes
};

// The weights file is read by the caller (weights_path() says which) and passed in, so that its
// metadata and classifier shape can be consulted without reading it twice.
std::string weights_path(const InferOptions& options);
InferModel resolve_infer_model(const InferOptions& options, const SafetensorsFile& weights);

}  // namespace cardinal
