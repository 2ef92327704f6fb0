#include "apps/train_options.h"

#include <cmath>
#include <limits>
#include <type_traits>
#include <filesystem>
#include <fstream>

#include "apps/commands.h"
#include "apps/model_flag.h"
#include "tensor/error.h"

namespace cardinal::apps {
namespace {

// The Fashion-MNIST recipe (PyTorch 1.13 + timm reference, 92.6% after 6 epochs). The
// TrainOptions defaults equal these values; tests/apps checks that they stay equal.
constexpr const char* kDefaultRecipe = R"({
  "model": "resnest_small",
  "data": "fashion-mnist",
  "epochs": 6,
  "batch": 128,
  "drop_last": true,
  "eval_batch": 1000,
  "optimizer": "sgd",
  "lr": 0.1,
  "momentum": 0.9,
  "nesterov": true,
  "wd": 0.0005,
  "schedule": "cosine",
  "warmup_epochs": 1.0,
  "label_smoothing": 0.1,
  "hflip": 0.5,
  "crop_padding": 0,
  "seed": 0
})";

// True when `v` (or every element of a list) converts to T without undefined behaviour:
// integers must be JSON integers (get<int>() of 1e300 would be a float-to-int overflow) in
// T's range.
template <typename T>
bool representable(const nlohmann::json& v) {
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string>) {
        return true;  // get<T> checks the type itself
    } else if constexpr (std::is_integral_v<T>) {
        if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t(std::numeric_limits<T>::max());
        if (v.is_number_integer())
            return v.get<int64_t>() >= int64_t(std::numeric_limits<T>::min()) &&
                   (std::is_unsigned_v<T> || v.get<int64_t>() <= int64_t(std::numeric_limits<T>::max()));
        if (v.is_number_float()) {  // a whole number written as 6.0
            const double d = v.get<double>();
            return d == std::floor(d) && d >= double(std::numeric_limits<T>::min()) &&
                   d < 0.999 * double(std::numeric_limits<T>::max());
        }
        return false;
    } else if constexpr (std::is_floating_point_v<T>) {
        return v.is_number();
    } else {  // std::vector<E>
        if (!v.is_array()) return false;
        for (const auto& e : v)
            if (!representable<typename T::value_type>(e)) return false;
        return true;
    }
}

template <typename T>
void take(const nlohmann::json& j, const char* key, T& field, const std::string& source) {
    auto it = j.find(key);
    if (it == j.end()) return;
    if (!it->is_null() && !representable<T>(*it))
        fail<ValueError>(source, ": option '", key, "' has the wrong type or is out of range (",
                         it->dump(), ")");
    try {
        field = it->get<T>();
    } catch (const nlohmann::json::exception&) {
        fail<ValueError>(source, ": option '", key, "' has the wrong type (", it->dump(), ")");
    }
}

bool finite(double v) { return std::isfinite(v); }

}  // namespace

void TrainOptions::validate() const {
    check<UsageError>(!model.empty() || !config_file.empty() || model_kwargs.has_value(),
                      "train: no model (give --model NAME or --config FILE.json)");
    check<UsageError>(epochs >= 1, "train: --epochs must be at least 1, got ", epochs);
    check<UsageError>(batch >= 1, "train: --batch must be at least 1, got ", batch);
    check<UsageError>(eval_batch >= 1, "train: --eval-batch must be at least 1, got ", eval_batch);
    check<UsageError>(limit_train >= 0, "train: --limit-train must be >= 0, got ", limit_train);
    check<UsageError>(limit_test >= 0, "train: --limit-test must be >= 0, got ", limit_test);
    check<UsageError>(optimizer == "sgd" || optimizer == "adamw",
                      "train: --optimizer must be sgd or adamw, got '", optimizer, "'");
    check<UsageError>(finite(lr) && lr > 0, "train: --lr must be a positive number, got ", lr);
    check<UsageError>(finite(wd) && wd >= 0, "train: --wd must be >= 0, got ", wd);
    check<UsageError>(finite(momentum) && momentum >= 0 && momentum < 1,
                      "train: --momentum must be in [0, 1), got ", momentum);
    check<UsageError>(!nesterov || optimizer != "sgd" || momentum > 0,
                      "train: Nesterov momentum needs --momentum > 0 (or --no-nesterov)");
    check<UsageError>(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1,
                      "train: --betas must be in [0, 1), got ", beta1, ", ", beta2);
    const bool known_schedule = schedule == "cosine" || schedule == "step" ||
                                schedule == "multistep" || schedule == "onecycle" ||
                                schedule == "constant";
    check<UsageError>(known_schedule,
                      "train: --schedule must be cosine, step, multistep, onecycle or constant, "
                      "got '",
                      schedule, "'");
    check<UsageError>(finite(warmup_epochs) && warmup_epochs >= 0,
                      "train: --warmup-epochs must be >= 0, got ", warmup_epochs);
    check<UsageError>(step_epochs >= 1, "train: --step-epochs must be at least 1, got ",
                      step_epochs);
    for (size_t i = 0; i < milestones.size(); ++i)
        check<UsageError>(milestones[i] >= 1 && (i == 0 || milestones[i] > milestones[i - 1]),
                          "train: --milestones must be ascending epochs >= 1");
    check<UsageError>(finite(gamma) && gamma > 0, "train: --gamma must be > 0, got ", gamma);
    check<UsageError>(finite(label_smoothing) && label_smoothing >= 0 && label_smoothing < 1,
                      "train: --label-smoothing must be in [0, 1), got ", label_smoothing);
    check<UsageError>(hflip >= 0 && hflip <= 1, "train: --hflip must be in [0, 1], got ", hflip);
    check<UsageError>(crop_padding >= 0, "train: --crop-padding must be >= 0, got ", crop_padding);
    check<UsageError>(mean.size() == std.size(), "train: --mean has ", mean.size(),
                      " values but --std has ", std.size());
    for (double s : std) check<UsageError>(s > 0, "train: --std values must be > 0, got ", s);
    check<UsageError>(threads >= 0 && threads <= 4096,
                      "train: --threads must be from 1 to 4096 (0: all cores), got ", threads);
    check<UsageError>(!out.empty(), "train: --out DIR is required");
    // Anomaly mode stops at the first NaN/Inf an op produces, before the loss exists to skip.
    check<UsageError>(!(detect_anomaly && skip_nonfinite),
                      "train: --detect-anomaly stops at the first NaN/Inf, so it cannot be "
                      "combined with --skip-nonfinite");
    check<UsageError>(stop_after >= 0, "train: --stop-after must be >= 0, got ", stop_after);
    check<UsageError>(checkpoint_every >= 0, "train: --checkpoint-every must be >= 0 (steps; 0: "
                      "only after each epoch), got ", checkpoint_every);
    check<UsageError>(
        progress == "auto" || progress == "bar" || progress == "log" || progress == "none",
        "train: --progress must be auto, bar, log or none, got '", progress, "'");
}

double TrainOptions::effective_warmup_epochs() const {
    return warmup_epochs < static_cast<double>(epochs) ? warmup_epochs
                                                       : static_cast<double>(epochs) / 2.0;
}

nlohmann::json TrainOptions::recipe() const {
    nlohmann::json j = to_json();
    for (const char* k : {"out", "resume", "stop_after", "checkpoint_every", "skip_nonfinite",
                          "detect_anomaly", "bucket_mb", "overlap", "dist_timeout", "check_replicas"})
        j.erase(k);
    return j;
}

nlohmann::json TrainOptions::to_json() const {
    nlohmann::json j = {
        {"model", model},
        {"data", data},
        {"epochs", epochs},
        {"batch", batch},
        {"drop_last", drop_last},
        {"eval_batch", eval_batch},
        {"limit_train", limit_train},
        {"limit_test", limit_test},
        {"optimizer", optimizer},
        {"lr", lr},
        {"wd", wd},
        {"momentum", momentum},
        {"nesterov", nesterov},
        {"beta1", beta1},
        {"beta2", beta2},
        {"schedule", schedule},
        {"warmup_epochs", warmup_epochs},
        {"step_epochs", step_epochs},
        {"milestones", milestones},
        {"gamma", gamma},
        {"label_smoothing", label_smoothing},
        {"hflip", hflip},
        {"crop_padding", crop_padding},
        {"mean", mean},
        {"std", std},
        {"threads", threads},
        {"seed", seed},
        {"out", out},
        {"resume", resume},
        {"stop_after", stop_after},
        {"checkpoint_every", checkpoint_every},
        {"progress", progress},
        {"skip_nonfinite", skip_nonfinite},
        {"detect_anomaly", detect_anomaly},
        {"sync_bn", sync_bn},
        {"bucket_mb", bucket_mb},
        {"overlap", overlap},
        {"dist_timeout", dist_timeout},
        {"check_replicas", check_replicas},
    };
    if (!config_file.empty()) j["config"] = config_file;
    if (!init_weights.empty()) j["init_weights"] = init_weights;
    if (model_kwargs) j["model_kwargs"] = *model_kwargs;
    return j;
}

void TrainOptions::merge_json(const nlohmann::json& j, const std::string& source) {
    check<ValueError>(j.is_object(), source, ": expected a JSON object of options");
    static const char* kKnown[] = {"model",
                                   "config",
                                   "model_kwargs",
                                   "data",
                                   "epochs",
                                   "batch",
                                   "drop_last",
                                   "eval_batch",
                                   "limit_train",
                                   "limit_test",
                                   "optimizer",
                                   "lr",
                                   "wd",
                                   "momentum",
                                   "nesterov",
                                   "beta1",
                                   "beta2",
                                   "schedule",
                                   "warmup_epochs",
                                   "step_epochs",
                                   "milestones",
                                   "gamma",
                                   "label_smoothing",
                                   "hflip",
                                   "crop_padding",
                                   "mean",
                                   "std",
                                   "threads",
                                   "seed",
                                   "out",
                                   "resume",
                                   "stop_after",
                                   "checkpoint_every",
                                   "progress",
                                   "skip_nonfinite",
                                   "detect_anomaly",
                                   "init_weights",
                                   "sync_bn",
                                   "bucket_mb",
                                   "overlap",
                                   "dist_timeout",
                                   "check_replicas"};
    for (auto it = j.begin(); it != j.end(); ++it) {
        bool known = false;
        for (const char* k : kKnown) known = known || it.key() == k;
        check<ValueError>(known, source, ": unknown option '", it.key(), "'");
    }
    take(j, "model", model, source);
    take(j, "config", config_file, source);
    if (j.contains("model_kwargs")) {
        if (j["model_kwargs"].is_null())
            model_kwargs.reset();
        else
            model_kwargs = j["model_kwargs"];
    }
    take(j, "data", data, source);
    take(j, "epochs", epochs, source);
    take(j, "batch", batch, source);
    take(j, "drop_last", drop_last, source);
    take(j, "eval_batch", eval_batch, source);
    take(j, "limit_train", limit_train, source);
    take(j, "limit_test", limit_test, source);
    take(j, "optimizer", optimizer, source);
    take(j, "lr", lr, source);
    take(j, "wd", wd, source);
    take(j, "momentum", momentum, source);
    take(j, "nesterov", nesterov, source);
    take(j, "beta1", beta1, source);
    take(j, "beta2", beta2, source);
    take(j, "schedule", schedule, source);
    take(j, "warmup_epochs", warmup_epochs, source);
    take(j, "step_epochs", step_epochs, source);
    take(j, "milestones", milestones, source);
    take(j, "gamma", gamma, source);
    take(j, "label_smoothing", label_smoothing, source);
    take(j, "hflip", hflip, source);
    take(j, "crop_padding", crop_padding, source);
    take(j, "mean", mean, source);
    take(j, "std", std, source);
    take(j, "threads", threads, source);
    take(j, "seed", seed, source);
    take(j, "out", out, source);
    take(j, "resume", resume, source);
    take(j, "stop_after", stop_after, source);
    take(j, "checkpoint_every", checkpoint_every, source);
    take(j, "progress", progress, source);
    take(j, "skip_nonfinite", skip_nonfinite, source);
    take(j, "detect_anomaly", detect_anomaly, source);
    take(j, "init_weights", init_weights, source);
    take(j, "sync_bn", sync_bn, source);
    take(j, "bucket_mb", bucket_mb, source);
    take(j, "overlap", overlap, source);
    take(j, "dist_timeout", dist_timeout, source);
    take(j, "check_replicas", check_replicas, source);
}

nlohmann::json recipe_json(const std::string& name_or_file) {
    if (name_or_file == "default") return nlohmann::json::parse(kDefaultRecipe);
    namespace fs = std::filesystem;
    check<ValueError>(fs::is_regular_file(name_or_file), "--recipe: '", name_or_file,
                      "' is neither a named recipe (default) nor a JSON file");
    std::ifstream in(name_or_file);
    check<FormatError>(in.good(), name_or_file, ": cannot open the recipe file");
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        fail<FormatError>(name_or_file, ": not valid JSON (", e.what(), ")");
    }
}

ModelChoice resolve_model(const TrainOptions& options) {
    if (options.model_kwargs) {
        return {options.model.empty() ? "custom" : options.model,
                ResNetConfig::from_json(*options.model_kwargs)};
    }
    if (!options.config_file.empty()) {
        const std::string& path = options.config_file;
        std::ifstream in(path);
        check<FormatError>(in.good(), "--config: cannot open '", path, "'");
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception& e) {
            fail<FormatError>(path, ": not valid JSON (", e.what(), ")");
        }
        // Accept a recipe-style {"model": name, "kwargs": {...}} as well as bare kwargs.
        std::string name = std::filesystem::path(path).stem().string();
        if (j.is_object() && j.contains("kwargs")) {
            if (j.contains("model") && j["model"].is_string()) name = j["model"];
            j = j["kwargs"];
        }
        try {
            return {name, ResNetConfig::from_json(j)};
        } catch (const Error& e) {
            fail<ValueError>(path, ": ", e.what());
        }
    }
    return {options.model, model_flag(options.model).config};
}

}  // namespace cardinal::apps
