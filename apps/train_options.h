// Everything `cardinal train` can be told, with the default recipe as the defaults.
//
// The defaults are the Fashion-MNIST recipe measured with PyTorch (docs/training.md; the
// values were copied from the project's reference recipe so the repository stands alone):
// resnest_small, SGD lr 0.1 momentum 0.9 Nesterov, weight decay 5e-4 on parameters with more
// than one dimension, 1 warmup epoch then cosine to 0 updated every iteration, label smoothing
// 0.1, batch 128 with drop_last, random crop 28 (padding 0) + horizontal flip 0.5, normalize
// mean 0.286 std 0.353, eval batch 1000, 6 epochs, seed 0, all cores.
//
// Options travel as JSON (the keys are the flag names with '_' for '-'): a recipe file, the
// copy inside a checkpoint and the command line merge in that order.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "models/resnet_config.h"

namespace cardinal::apps {

struct TrainOptions {
    // Model: a registry name, a JSON file of timm kwargs, or the kwargs themselves (a resumed
    // checkpoint's). model_kwargs wins over config_file, which wins over model.
    std::string model = "resnest_small";
    std::string config_file;
    std::optional<nlohmann::json> model_kwargs;
    // Start from these weights (timm's model.safetensors, or a cardinal model.safetensors):
    // a classifier of another class count is replaced (kept at its initialisation), and a first
    // convolution for 3 channels is adapted to the model's in_chans (models/weights.h).
    std::string init_weights;

    std::string data = "fashion-mnist";  // fashion-mnist[:DIR] | mnist:DIR | cifar10:DIR
    int64_t epochs = 6;
    int64_t batch = 128;
    bool drop_last = true;
    int64_t eval_batch = 1000;
    int64_t limit_train = 0;  // first N training / test images (0: all)
    int64_t limit_test = 0;

    std::string optimizer = "sgd";  // sgd | adamw
    double lr = 0.1;
    double wd = 5e-4;  // on parameters with ndim > 1 only
    double momentum = 0.9;
    bool nesterov = true;
    double beta1 = 0.9, beta2 = 0.999;  // adamw

    std::string schedule = "cosine";  // cosine | step | multistep | onecycle | constant
    double warmup_epochs = 1.0;       // cosine only; clamped to epochs / 2 (see below)
    int64_t step_epochs = 30;         // step: decay every N epochs
    std::vector<int64_t> milestones;  // multistep: epochs at which lr *= gamma
    double gamma = 0.1;               // step / multistep
    double label_smoothing = 0.1;

    double hflip = 0.5;
    int64_t crop_padding = 0;
    std::vector<double> mean;  // empty: the data set's (Fashion-MNIST 0.286 / 0.353)
    std::vector<double> std;

    int threads = 0;  // 0: all cores (or CARDINAL_NUM_THREADS)
    uint64_t seed = 0;

    std::string out;                // output directory (required)
    std::string resume;             // checkpoint to continue from
    int64_t stop_after = 0;         // stop after this epoch (1-based, 0: run all) to resume later
    int64_t checkpoint_every = 0;   // also checkpoint every N training steps (0: after epochs only)
    std::string progress = "auto";  // auto (bar on a terminal) | bar | log | none
    bool skip_nonfinite = false;    // skip (and count) batches whose loss is NaN/Inf, not stop
    bool detect_anomaly = false;    // anomaly mode: stop at the first op whose output or
                                    // gradient is NaN/Inf, naming it (slow; for debugging)

    // Data parallelism under mpirun (docs/distributed.md, apps/train_dist.h).
    bool sync_bn = false;         // BatchNorm statistics over the global batch, not each shard
    double bucket_mb = 25.0;      // gradient allreduce bucket size, MiB
    bool overlap = true;          // start buckets during backward (false: after it, to measure)
    double dist_timeout = 0;      // seconds a collective may wait (0: CARDINAL_DIST_TIMEOUT or 300)
    bool check_replicas = false;  // after every step, stop unless all ranks' parameters are equal

    // Throws ValueError naming the flag for any out-of-range value.
    void validate() const;
    // The warmup the cosine schedule uses: warmup_epochs, or half the run when the warmup would
    // take all of it (the default 1-epoch warmup with --epochs 1 warms up for half an epoch).
    double effective_warmup_epochs() const;
    // The options as a recipe (`--recipe FILE` reads it back): to_json() without the keys that
    // belong to one run (out, resume, stop_after, checkpoint_every).
    nlohmann::json recipe() const;
    // Every option as JSON (config_file and model_kwargs only when set).
    nlohmann::json to_json() const;
    // Applies the keys present in `j` over *this; an unknown key or a wrong type is a
    // ValueError naming `source` and the key.
    void merge_json(const nlohmann::json& j, const std::string& source);
};

// The named recipes (`--recipe default`); a path to a JSON file of options also works.
// The default recipe as JSON (the TrainOptions defaults, written out).
nlohmann::json recipe_json(const std::string& name_or_file);

// The model a run trains: its name (for messages and metadata) and its config.
struct ModelChoice {
    std::string name;
    ResNetConfig config;
};
// Resolves model_kwargs / config_file / model (ValueError for an unknown name, FormatError
// for an unreadable config file). A config file may hold the kwargs or {"kwargs": {...}}.
ModelChoice resolve_model(const TrainOptions& options);

}  // namespace cardinal::apps
