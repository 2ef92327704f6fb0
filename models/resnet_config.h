// The configuration of the one ResNet-family backbone: fields mirror timm's ResNet(...)
// keyword arguments exactly as docs/timm-configs.md section 1 writes them, plus two extras for
// small images (stem_stride, stem_pool) that change no parameter name.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cardinal {

// attn_layer: "se" (SEModule defaults) or {"name": "se", "rd_ratio": r, "rd_divisor": d}.
struct AttnLayerConfig {
    std::string name = "se";
    double rd_ratio = 1.0 / 16;
    int64_t rd_divisor = 8;
};

// sk_kwargs for SelectiveKernel.
struct SkConfig {
    double rd_ratio = 1.0 / 16;
    int64_t rd_divisor = 8;
    bool split_input = true;
};

struct BlockArgs {
    std::optional<AttnLayerConfig> attn_layer;  // Bottleneck / basic blocks
    SkConfig sk_kwargs;                         // SelectiveKernel blocks
    bool has_sk_kwargs = false;
    int64_t radix = 2;                          // ResNestBottleneck
    bool avd = false;
    bool avd_first = false;
};

struct ResNetConfig {
    std::string block = "Bottleneck";  // BasicBlock, Bottleneck, SelectiveKernelBasic,
                                       // SelectiveKernelBottleneck, ResNestBottleneck
    std::vector<int64_t> layers{3, 4, 6, 3};
    std::vector<int64_t> channels{64, 128, 256, 512};
    int64_t cardinality = 1;
    int64_t base_width = 64;
    std::string stem_type;  // "", "deep", "deep_tiered"
    int64_t stem_width = 64;
    bool avg_down = false;
    int64_t down_kernel_size = 1;
    int64_t in_chans = 3;
    int64_t num_classes = 1000;
    double drop_rate = 0.0;
    double drop_path_rate = 0.0;
    double drop_block_rate = 0.0;
    bool zero_init_last = true;
    BlockArgs block_args;
    // Extras for 28x28 / 32x32 inputs.
    int64_t stem_stride = 2;
    bool stem_pool = true;

    // Parses timm kwargs; unknown keys, wrong types and invalid values are ValueErrors that
    // name the key. The result is validated.
    static ResNetConfig from_json(const nlohmann::json& kwargs);
    nlohmann::json to_json() const;
    // Throws ValueError describing the first invalid field.
    void validate() const;
    bool is_bottleneck() const;  // expansion 4 (else 1)
};

// A named model: its config and the eval size of timm's default tag (models/pretrained.h has the
// whole eval config of every tag).
struct ModelInfo {
    std::string name;
    ResNetConfig config;
    int64_t input_size = 224;   // square crop fed to the network
    double crop_pct = 0.875;    // resize shorter side to input_size / crop_pct, then center crop
    std::string description;
};

// Every registered model name, in a stable order.
std::vector<std::string> model_names();
// Throws ValueError listing the known names when `name` is unknown.
const ModelInfo& model_info(const std::string& name);

}  // namespace cardinal
