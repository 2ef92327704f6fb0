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
};

}  // namespace

void add_infer_command(CLI::App& app) {
    auto* cmd = app.add_subcommand(
        "infer", "Run a model on images (PNG/JPEG) or on a .safetensors `input` batch");
    auto args = std::make_shared<InferArgs>();  // outlives this function: parse runs later
    InferOptions& o = args->options;
    auto* model =
        cmd->add_option("--model", o.model, "A registered model name (see `cardinal models`)");
    auto* config = cmd->add_option(
        "--config", o.config_path,
        "A ResNetConfig: JSON kwargs, a JSON spec with \"kwargs\", or a fixture .safetensors");
    model->excludes(config);
    cmd->add_option("--weights", o.weights, "State dict (.safetensors, timm names)")->required();
    cmd->add_option("--input", o.inputs,
                    "Image file(s), or one .safetensors holding `input` [N,C,H,W] (and `target`)")
        ->required();
    cmd->add_option("--output", args->output,
                    "Write logits (and loss, grad.*, running_after.* with --backward) here");
    cmd->add_option("--labels", o.labels, "Class names, one per line (num_classes lines)");
    cmd->add_option("--topk", o.topk, "Classes printed per input")->capture_default_str();
    cmd->add_flag("--train-mode", o.train_mode,
                  "Run BatchNorm on batch statistics (updating its buffers) and dropout");
    cmd->add_flag("--backward", o.backward,
                  "Differentiate cross_entropy(logits, target); target from the input file");
    cmd->add_option("--dtype", args->dtype, "float32 or float64 (weights are converted)")
        ->capture_default_str();
    cmd->add_option("--threads", args->threads, "Threads (default: CARDINAL_NUM_THREADS or cores)");
    cmd->add_option("--image-size", o.image_size, "Crop size (default: the model's input_size)");
    cmd->add_option("--crop-pct", o.crop_pct, "Resize to size/crop_pct before the center crop");
    cmd->add_option("--seed", o.seed, "Seed for what the weights leave at init")
        ->capture_default_str();
    cmd->add_flag("--skip-classifier-mismatch", o.skip_classifier_mismatch,
                  "Keep the model's own fc when the file's has another class count");
    cmd->callback([args]() {
        InferOptions& o = args->options;
        o.dtype = parse_run_dtype(args->dtype);
        if (args->threads < 0)
            fail<ValueError>("infer: --threads must be positive, got ", args->threads);
        if (args->threads > 0) set_num_threads(args->threads);
        InferResult result = run_infer(o);
        for (const auto& note : result.notes)
            std::fprintf(stderr, "cardinal: note: %s\n", note.c_str());
        std::fputs(format_predictions(result).c_str(), stdout);
        if (!args->output.empty()) {
            save_infer_outputs(args->output, result, o);
            std::fprintf(stderr, "cardinal: wrote %zu tensors to %s\n", result.outputs.size(),
                         args->output.c_str());
        }
    });
}

}  // namespace cardinal::apps
