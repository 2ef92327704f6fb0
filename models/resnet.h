// The one ResNet-family backbone (timm's ResNet), configured by ResNetConfig:
//   conv1 (7x7 or deep stem) -> bn1 -> act1 -> maxpool -> layer1..layer4 -> global pool
//   -> [dropout] -> fc
// Parameter names and state_dict order are timm's (tests/data/keys/<model>.txt).
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "models/resnet_config.h"
#include "nn/module.h"
#include "tensor/random.h"

namespace cardinal {

class ResNet : public Module {
public:
    // Builds and initialises the network (timm's default init, then zero_init_last) with
    // randomness from `gen` (the default generator when null).
    explicit ResNet(const ResNetConfig& config, Generator* gen = nullptr);

    Tensor forward(const Tensor& x) override;
    // Everything before the global pool: [N, C_out, H/32, W/32] (stride depends on the stem).
    Tensor forward_features(const Tensor& x);
    std::string type_name() const override { return "ResNet"; }

    const ResNetConfig& config() const { return config_; }
    int64_t num_features() const { return num_features_; }

private:
    ResNetConfig config_;
    int64_t num_features_ = 0;
    ModulePtr conv1_, bn1_, act1_, maxpool_;
    ModulePtr layers_[4];
    ModulePtr fc_;  // null when num_classes == 0
    Generator* gen_;
};

// Changes to a registered config when building it; an unset field keeps the registry's value.
struct ModelOverrides {
    std::optional<int64_t> num_classes;  // 0: no classifier, forward gives the pooled features
    std::optional<int64_t> in_chans;     // channels of the input images
};

// A named model from the registry (models/resnet_config.h), initialised from `gen` (the default
// generator when null), optionally with another class count or input channel count:
//   create_model("resnext_small", {.num_classes = 100, .in_chans = 3})
// An unknown name or an invalid override is a ValueError naming the model and the value.
std::shared_ptr<ResNet> create_model(const std::string& name, const ModelOverrides& overrides,
                                     Generator* gen = nullptr);
std::shared_ptr<ResNet> create_model(const std::string& name, Generator* gen = nullptr);

// Multiply-accumulates of the convolutions and the fc for one image of h x w (what
// docs/timm-configs.md section 10 counts), measured by running an eval forward under a MacCounter.
int64_t count_macs(ResNet& model, int64_t h, int64_t w);

}  // namespace cardinal
