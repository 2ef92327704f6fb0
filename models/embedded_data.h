// Data files compiled into the library (models/data/, embedded by cmake/embed_text.cmake).
#pragma once
#include <string_view>

namespace cardinal::embedded {

// timm's pretrained_cfg for every tag of the 17 architectures (models/data/pretrained_cfgs.json).
extern const std::string_view kPretrainedCfgsJson;
// ImageNet-1k classes in classifier order, one "synset<TAB>description" line each, as timm's
// ImageNetInfo builds them (models/data/imagenet1k_classes.tsv).
extern const std::string_view kImagenet1kClassesTsv;

}  // namespace cardinal::embedded
