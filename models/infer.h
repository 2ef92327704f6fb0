// `cardinal infer` as a library function, so that tests run exactly what the command runs.
//
//   model   : a registered name (models/resnet_config.h) or a ResNetConfig file (load_config_file)
//   weights : a safetensors state dict (models/weights.h: strict, converted to the run dtype)
//   input   : images (PNG/JPEG/...; timm's eval preprocessing at the model's input_size and
//             crop_pct, or the overrides), or one .safetensors holding `input` [N, C, H, W]
//   run     : eval mode by default; train_mode uses batch statistics (and updates the BN buffers)
//             and dropout; backward differentiates cross_entropy(logits, target) (mean) with
//             `target` (int64 [N]) read from the input file
//   outputs : tensors under the names the reference fixtures use:
//             `logits`; with backward `loss` (0-d), `grad.input`, `grad.<param>` for every
//             parameter; with train_mode or backward `running_after.<bn buffer>`.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/image.h"
#include "io/safetensors.h"
#include "models/resnet_config.h"
#include "tensor/tensor.h"

namespace cardinal {

struct InferOptions {
    std::string model;                // a registered name, or
    std::string config_path;          // a config file (exactly one of the two)
    std::string weights;              // required
    std::vector<std::string> inputs;  // images, or exactly one .safetensors
    std::string labels;               // optional: one class name per line, num_classes lines
    int64_t topk = 5;
    bool train_mode = false;
    bool backward = false;
    DType dtype = DType::Float32;
    int64_t image_size = 0;  // 0: the model's input_size (224 for a config file)
    double crop_pct = 0;     // 0: the model's crop_pct (0.875 for a config file)
    bool skip_classifier_mismatch = false;
    uint64_t seed = 0;  // initialises what the weights do not replace (a skipped head)
};

struct Prediction {
    int64_t index = 0;
    double probability = 0;
    std::string label;  // empty without a labels file
};

struct InferResult {
    std::string model;                         // the name, or the config file
    std::vector<std::string> input_names;      // one per batch element
    std::vector<std::vector<Prediction>> top;  // one list per batch element (best first)
    NamedTensors outputs;                      // logits, loss, grad.*, running_after.*
    std::vector<std::string> notes;            // tolerated differences, for stderr
};

InferResult run_infer(const InferOptions& options);

// A ResNetConfig from a file. Accepted forms:
//   - a JSON object of timm ResNet kwargs (a `kwargs` object of configs.json or of a fixture spec);
//   - a JSON object with a "kwargs" field (a fixture's spec, or one model entry of configs.json);
//     a "builder" field, when present, must be "ResNet";
//   - a .safetensors file whose __metadata__.spec is such an object (a reference fixture).
// Unknown keys and bad values are ValueErrors naming the file and the key.
ResNetConfig load_config_file(const std::string& path);

// "float32" / "float64" (ValueError otherwise).
DType parse_run_dtype(const std::string& name);

// One class name per line (a trailing newline and CR line ends are fine); ValueError unless there
// are exactly num_classes names.
std::vector<std::string> read_labels(const std::string& path, int64_t num_classes);

// The k most probable classes of each row of logits [N, C] (softmax in float64), best first.
std::vector<std::vector<Prediction>> top_k(const Tensor& logits, int64_t k,
                                           const std::vector<std::string>& labels = {});

// "input: 3 images" style listing, one line per prediction:
//   <input name>
//     #1  class 207  p=0.812345  golden retriever
std::string format_predictions(const InferResult& result);

// Writes result.outputs (atomic, see io/safetensors.h) with a little provenance metadata.
void save_infer_outputs(const std::string& path, const InferResult& result,
                        const InferOptions& options);

}  // namespace cardinal
