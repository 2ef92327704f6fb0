// `cardinal infer` as a library function, so that tests run exactly what the command runs.
//
//   model   : where the network, its preprocessing and its class names come from
//             (models/infer_model.h): a registered name or "arch.tag" (timm's pretrained_cfg of
//             that tag), a ResNetConfig file, an HF folder (model.safetensors + config.json), a
//             config.json beside the weights, or the metadata `cardinal train` writes
//   weights : a safetensors state dict (models/weights.h: strict, converted to the run dtype)
//   input   : image files and directories of images (timm's eval transform, io/eval_transform.h,
//             run in groups of `batch`), or one .safetensors holding `input` [N, C, H, W]
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

#include "io/eval_transform.h"
#include "io/safetensors.h"
#include "models/resnet_config.h"
#include "tensor/tensor.h"

namespace cardinal {

// Changes to the eval transform the model brings; zero / empty fields change nothing.
struct PreprocessOverrides {
    int64_t size = 0;  // crop size
    double crop_pct = 0;
    std::string interpolation;  // "bilinear" / "bicubic"
    std::string crop_mode;      // "center" / "squash" / "border"
    std::vector<double> mean, std;
    bool test_size = false;  // the tag's test_input_size / test_crop_pct (timm validate.py)
};

struct InferOptions {
    std::string model;                // a registered name or "arch.tag", or
    std::string config_path;          // a ResNetConfig file, or
    std::string model_dir;            // an HF folder (model.safetensors + config.json)
    std::string weights;              // required unless model_dir
    std::vector<std::string> inputs;  // images and directories, or exactly one .safetensors
    std::string labels;               // optional: one class name per line, num_classes lines
    int64_t topk = 5;
    int64_t batch = 16;  // images per forward
    bool train_mode = false;
    bool backward = false;
    DType dtype = DType::Float32;
    // float32 tensors with bf16 convolutions (ops/precision.h; eval, no backward): --dtype bfloat16
    bool bfloat16 = false;
    PreprocessOverrides preprocess;
    std::string save_input;  // write the preprocessed batch here (safetensors `input`)
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
    std::string source;                        // where model, preprocessing and labels came from
    std::string transform;                     // EvalTransform::describe(), for image inputs
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

// "float32" / "float64" / "bfloat16" (ValueError otherwise) into options.dtype and
// options.bfloat16 (bfloat16 runs float32 tensors through bf16 convolutions).
void parse_run_dtype(const std::string& name, InferOptions& options);

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
// One JSON object per line and input:
//   {"file": ..., "indices": [...], "names": [...], "probabilities": [...]}
// ("names" holds "" for classes without a name).
std::string format_predictions_json(const InferResult& result);

// The image files an --input list names: files as given, directories expanded to the image
// files they hold (by extension: png, jpg, jpeg, bmp, gif, tga, ppm, pgm, pnm), sorted by name.
// ValueError for a missing path or a directory without images.
std::vector<std::string> expand_image_inputs(const std::vector<std::string>& inputs);

// Writes result.outputs (atomic, see io/safetensors.h) with a little provenance metadata.
void save_infer_outputs(const std::string& path, const InferResult& result,
                        const InferOptions& options);

}  // namespace cardinal
