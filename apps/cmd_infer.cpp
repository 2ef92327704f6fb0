// `cardinal infer`: run a network on images or on a stored input batch, print the top-k classes
// and optionally write the logits (and, with --backward, the loss, every gradient and the BN
// buffers) to a safetensors file. The work is models/infer.h's run_infer; this file only maps
// flags to InferOptions and prints.
#include <cstdio>
#include <memory>
#include <string>

#include "apps/commands.h"
#include "models/infer.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

namespace cardinal::apps {

namespace {

struct InferArgs {
    InferOptions options;
    std::string output;
    std::string dtype = "float32";
    int threads = 0;
    bool json = false;
};

}  // namespace

void add_infer_command(CLI::App& app) {
    auto* cmd = app.add_subcommand(
        "infer", "Run a model on images (PNG/JPEG/...) or on a .safetensors `input` batch");
    auto args = std::make_shared<InferArgs>();  // outlives this function: parse runs later
    InferOptions& o = args->options;
    PreprocessOverrides& p = o.preprocess;
    auto* model = cmd->add_option(
        "--model", o.model,
        "A registered model, or ARCH.TAG for one of timm's pretrained tags (`cardinal models`)");
    auto* config = cmd->add_option(
        "--config", o.config_path,
        "A ResNetConfig: JSON kwargs, a JSON spec with \"kwargs\", or a fixture .safetensors");
    model->excludes(config);
    auto* dir = cmd->add_option("--model-dir", o.model_dir,
                                "A timm / Hugging Face folder: model.safetensors + config.json");
    auto* weights =
        cmd->add_option("--weights", o.weights,
                        "State dict (.safetensors, timm names); a config.json beside it is read");
    dir->excludes(weights);
    dir->excludes(config);
    cmd->add_option("--input", o.inputs,
                    "Image files and directories, or one .safetensors holding `input` [N,C,H,W]")
        ->required();
    cmd->add_option("--batch", o.batch, "Images per forward pass")->capture_default_str();
    cmd->add_flag("--json", args->json,
                  "One JSON line per image: file, indices, names, probabilities");
    cmd->add_option("--output", args->output,
                    "Write logits (and loss, grad.*, running_after.* with --backward) here");
    cmd->add_option("--save-input", o.save_input,
                    "Write the preprocessed image batch (`input`, float) as safetensors");
    cmd->add_option("--labels", o.labels,
                    "Class names, one per line (default: config.json's, or ImageNet-1k's for "
                    "1000 classes)");
    cmd->add_option("--topk", o.topk, "Classes printed per input")->capture_default_str();
    cmd->add_option("--size", p.size, "Crop size (default: the model's input_size)");
    cmd->add_option("--image-size", p.size, "Same as --size");
    cmd->add_option("--crop-pct", p.crop_pct, "Resize to size / crop_pct before cropping");
    cmd->add_option("--crop-mode", p.crop_mode, "center | squash | border");
    cmd->add_option("--interpolation", p.interpolation, "bilinear | bicubic");
    cmd->add_option("--mean", p.mean, "Normalisation mean, one value per channel");
    cmd->add_option("--std", p.std, "Normalisation std, one value per channel");
    cmd->add_flag("--test-size", p.test_size,
                  "Use the tag's test_input_size / test_crop_pct (as timm's validate.py)");
    cmd->add_flag("--train-mode", o.train_mode,
                  "Run BatchNorm on batch statistics (updating its buffers) and dropout");
    cmd->add_flag("--backward", o.backward,
                  "Differentiate cross_entropy(logits, target); target from the input file");
    cmd->add_option("--dtype", args->dtype, "float32, float64 (weights are converted) or bfloat16 (float32 with bf16 convolutions)")
        ->capture_default_str();
    cmd->add_option("--threads", args->threads, "Threads (default: CARDINAL_NUM_THREADS or cores)");
    cmd->add_option("--seed", o.seed, "Seed for what the weights leave at init")
        ->capture_default_str();
    cmd->add_flag("--skip-classifier-mismatch", o.skip_classifier_mismatch,
                  "Keep the model's own fc when the file's has another class count");
    cmd->callback([args]() {
        InferOptions& o = args->options;
        parse_run_dtype(args->dtype, o);
        if (args->threads < 0)
            fail<UsageError>("infer: --threads must be positive, got ", args->threads);
        if (args->threads > 0) set_num_threads(args->threads);
        InferResult result = run_infer(o);
        for (const auto& note : result.notes)
            std::fprintf(stderr, "cardinal: note: %s\n", note.c_str());
        std::fprintf(stderr, "cardinal: model %s (%s)\n", result.model.c_str(),
                     result.source.c_str());
        if (!result.transform.empty())
            std::fprintf(stderr, "cardinal: preprocessing %s\n", result.transform.c_str());
        const std::string text =
            args->json ? format_predictions_json(result) : format_predictions(result);
        std::fputs(text.c_str(), stdout);
        if (!o.save_input.empty())
            std::fprintf(stderr, "cardinal: wrote the preprocessed input to %s\n",
                         o.save_input.c_str());
        if (!args->output.empty()) {
            save_infer_outputs(args->output, result, o);
            std::fprintf(stderr, "cardinal: wrote %zu tensors to %s\n", result.outputs.size(),
                         args->output.c_str());
        }
    });
}

}  // namespace cardinal::apps
