// `cardinal train`: options from (lowest to highest) the defaults (= the default recipe),
// --recipe, the checkpoint being resumed, and the flags given on the command line; then
// apps/trainer.h does the work.
#include <filesystem>
#include <memory>
#include <utility>
#include <vector>

#include "apps/commands.h"
#include "apps/train_dist.h"
#include "apps/trainer.h"
#include "io/safetensors.h"
#include "tensor/error.h"

namespace cardinal::apps {
namespace {

struct TrainArgs {
    TrainOptions raw;  // what the flags wrote
    std::string recipe;
    std::vector<std::pair<std::string, CLI::Option*>> flags;  // JSON key -> its flag
    CLI::Option* model = nullptr;
    CLI::Option* config = nullptr;
};

// The options a checkpoint was trained with, minus those that belong to one invocation.
nlohmann::json checkpoint_options(const std::string& path) {
    check<ValueError>(std::filesystem::is_regular_file(path), "--resume ", path, ": no such file");
    SafetensorsFile f = load_safetensors(path);  // FormatError for a corrupt file
    auto it = f.metadata.find("options");
    if (!is_checkpoint(f) ||
        it == f.metadata.end())
        return nlohmann::json::object();  // run_training explains what is wrong with it
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(it->second);
    } catch (const nlohmann::json::exception&) {
        fail<FormatError>(path, ": checkpoint metadata 'options' is not JSON");
    }
    check<FormatError>(j.is_object(), path, ": checkpoint metadata 'options' is not an object");
    for (const char* k : {"out", "resume", "stop_after", "checkpoint_every", "threads", "progress",
                          "config", "skip_nonfinite", "detect_anomaly", "bucket_mb", "overlap", "dist_timeout",
                          "check_replicas"})
        j.erase(k);
    return j;
}

bool is_distributed_option(const std::string& key) {
    return key == "sync_bn" || key == "bucket_mb" || key == "overlap" || key == "dist_timeout" ||
           key == "check_replicas";
}

void run(const TrainArgs& a) {
    check<ValueError>(!(a.model->count() && a.config->count()),
                      "train: give --model or --config, not both");
    if (!built_with_mpi())
        for (const auto& [key, opt] : a.flags)
            check<UsageError>(!(is_distributed_option(key) && opt->count() > 0), "train: ",
                              key == "overlap" ? "--[no-]overlap" : opt->get_name(), " needs a build with MPI, and this one has none "
                              "(apt-get install libopenmpi-dev openmpi-bin, then reconfigure)");
    TrainOptions o;
    if (!a.recipe.empty()) o.merge_json(recipe_json(a.recipe), "--recipe " + a.recipe);
    if (!a.raw.resume.empty()) {
        o.merge_json(checkpoint_options(a.raw.resume), "--resume " + a.raw.resume);
        o.out = std::filesystem::path(a.raw.resume).parent_path().string();
        if (o.out.empty()) o.out = ".";
    }
    const nlohmann::json raw = a.raw.to_json();
    nlohmann::json given = nlohmann::json::object();
    for (const auto& [key, opt] : a.flags)
        if (opt->count() > 0) given[key] = raw.at(key);
    o.merge_json(given, "command line");
    if (a.model->count()) {  // an explicit model replaces a recipe's or checkpoint's
        o.model_kwargs.reset();
        o.config_file.clear();
    }
    if (a.config->count()) {
        o.model_kwargs.reset();
        o.model.clear();
    }
    run_training(o, stdout);
}

}  // namespace

void add_train_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("train", "Train a model on Fashion-MNIST, MNIST or CIFAR-10");
    auto a = std::make_shared<TrainArgs>();  // outlives this function: parse runs later
    TrainOptions& r = a->raw;
    auto add = [&](const std::string& key, CLI::Option* opt) {
        a->flags.emplace_back(key, opt);
        return opt;
    };
    cmd->add_option("--recipe", a->recipe,
                    "Start from a recipe: 'default' (the Fashion-MNIST recipe, also the "
                    "defaults) or a JSON file of options; flags override it");
    a->model =
        add("model", cmd->add_option("--model", r.model, "Registry model (see `cardinal models`)")
                         ->capture_default_str());
    a->config = add("config", cmd->add_option("--config", r.config_file,
                                              "Model config: a JSON file of timm ResNet kwargs"));
    add("init_weights",
        cmd->add_option("--init-weights", r.init_weights,
                        "Fine-tune from these weights (timm's model.safetensors): a head of "
                        "another class count is replaced, a 3-channel first conv is adapted to "
                        "in_chans"));
    add("data", cmd->add_option("--data", r.data, "fashion-mnist[:DIR] | mnist:DIR | cifar10:DIR")
                    ->capture_default_str());
    add("epochs", cmd->add_option("--epochs", r.epochs, "Epochs")->capture_default_str());
    add("batch", cmd->add_option("--batch", r.batch, "Training batch size")->capture_default_str());
    add("eval_batch", cmd->add_option("--eval-batch", r.eval_batch, "Evaluation batch size")
                          ->capture_default_str());
    add("drop_last", cmd->add_flag("--drop-last,!--keep-last", r.drop_last,
                                   "Drop the last incomplete training batch (default on)"));
    add("optimizer",
        cmd->add_option("--optimizer", r.optimizer, "sgd | adamw")->capture_default_str());
    add("lr", cmd->add_option("--lr", r.lr, "Base learning rate")->capture_default_str());
    add("wd", cmd->add_option("--wd", r.wd, "Weight decay (conv/fc weights only)")
                  ->capture_default_str());
    add("momentum",
        cmd->add_option("--momentum", r.momentum, "SGD momentum")->capture_default_str());
    add("nesterov",
        cmd->add_flag("--nesterov,!--no-nesterov", r.nesterov, "Nesterov momentum (default on)"));
    add("beta1", cmd->add_option("--beta1", r.beta1, "AdamW beta1")->capture_default_str());
    add("beta2", cmd->add_option("--beta2", r.beta2, "AdamW beta2")->capture_default_str());
    add("schedule", cmd->add_option("--schedule", r.schedule,
                                    "cosine (linear warmup + cosine, per step) | step | "
                                    "multistep | onecycle | constant")
                        ->capture_default_str());
    add("warmup_epochs", cmd->add_option("--warmup-epochs", r.warmup_epochs,
                                         "Linear warmup epochs (cosine schedule)")
                             ->capture_default_str());
    add("step_epochs", cmd->add_option("--step-epochs", r.step_epochs,
                                       "step schedule: multiply lr by gamma every N epochs")
                           ->capture_default_str());
    add("milestones", cmd->add_option("--milestones", r.milestones,
                                      "multistep schedule: epochs (comma separated)")
                          ->delimiter(','));
    add("gamma", cmd->add_option("--gamma", r.gamma, "step / multistep decay factor")
                     ->capture_default_str());
    add("label_smoothing", cmd->add_option("--label-smoothing", r.label_smoothing,
                                           "Label smoothing of the training loss")
                               ->capture_default_str());
    add("hflip",
        cmd->add_option("--hflip", r.hflip, "Horizontal flip probability")->capture_default_str());
    add("crop_padding",
        cmd->add_option("--crop-padding", r.crop_padding, "Random-crop padding in pixels")
            ->capture_default_str());
    add("mean", cmd->add_option("--mean", r.mean,
                                "Normalization mean(s), comma separated "
                                "(default: the data set's)")
                    ->delimiter(','));
    add("std",
        cmd->add_option("--std", r.std, "Normalization std(s), comma separated")->delimiter(','));
    add("limit_train", cmd->add_option("--limit-train", r.limit_train,
                                       "Use only the first N training images (0: all)"));
    add("limit_test",
        cmd->add_option("--limit-test", r.limit_test, "Use only the first N test images (0: all)"));
    add("threads", cmd->add_option("--threads", r.threads,
                                   "Threads (default: all cores, or CARDINAL_NUM_THREADS)"));
    add("seed", cmd->add_option("--seed", r.seed, "Random seed")->capture_default_str());
    add("out", cmd->add_option("--out", r.out,
                               "Output directory (metrics.jsonl, curves.svg, checkpoints, "
                               "model.safetensors); default when resuming: the checkpoint's"));
    add("resume", cmd->add_option("--resume", r.resume,
                                  "Continue from a checkpoint.safetensors (its options are "
                                  "the defaults)"));
    add("stop_after", cmd->add_option("--stop-after", r.stop_after,
                                      "Stop after this epoch (continue later with --resume)"));
    add("checkpoint_every",
        cmd->add_option("--checkpoint-every", r.checkpoint_every,
                        "Also write the checkpoint every N training steps (atomically; "
                        "--resume continues mid-epoch), 0: after each epoch only"));
    add("skip_nonfinite",
        cmd->add_flag("--skip-nonfinite", r.skip_nonfinite,
                      "Skip batches whose loss is NaN or Inf (counted in the log and "
                      "metrics.jsonl) instead of stopping"));
    add("detect_anomaly",
        cmd->add_flag("--detect-anomaly", r.detect_anomaly,
                      "Anomaly mode: check every op's output and gradient for NaN/Inf and stop "
                      "at the first, naming the op, the epoch and the step (slow; for "
                      "debugging a loss that becomes NaN)"));
    add("sync_bn", cmd->add_flag("--sync-bn", r.sync_bn,
                                 "Under mpirun: BatchNorm statistics over the whole global batch "
                                 "(default: each rank's shard)"));
    add("bucket_mb", cmd->add_option("--bucket-mb", r.bucket_mb,
                                     "Under mpirun: gradient allreduce bucket size in MiB")
                         ->capture_default_str());
    add("overlap", cmd->add_flag("--overlap,!--no-overlap", r.overlap,
                                 "Under mpirun: start each bucket's allreduce during backward "
                                 "(default on; --no-overlap waits for backward, to measure)"));
    add("dist_timeout", cmd->add_option("--dist-timeout", r.dist_timeout,
                                        "Under mpirun: seconds a rank waits for the others before "
                                        "stopping the run naming the missing rank (default "
                                        "CARDINAL_DIST_TIMEOUT, else 300)"));
    add("check_replicas", cmd->add_flag("--check-replicas", r.check_replicas,
                                        "Under mpirun: after every step, stop unless every rank's "
                                        "parameters are bit-identical (for tests)"));
    add("progress", cmd->add_option("--progress", r.progress,
                                    "auto (a bar on a terminal, else log lines) | bar | log | "
                                    "none")
                        ->capture_default_str());
    cmd->callback([a]() { run(*a); });
}

}  // namespace cardinal::apps
