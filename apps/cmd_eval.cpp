// `cardinal eval`: accuracy and confusion matrix of trained weights on a test set.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "apps/commands.h"
#include "apps/data_source.h"
#include "apps/trainer.h"
#include "io/safetensors.h"
#include "models/resnet.h"
#include "models/weights.h"
#include "optim/optimizer.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

namespace cardinal::apps {
namespace {

struct EvalArgs {
    std::string model, config, weights, data = "fashion-mnist";
    int64_t limit_test = 0, batch = 1000;
    int threads = 0;
};

void print_confusion(const EvalResult& r, const DataSpec& spec) {
    const int64_t c = r.num_classes;
    size_t name_w = 0;
    for (const std::string& n : spec.class_names) name_w = std::max(name_w, n.size());
    const int w = static_cast<int>(name_w) + 4;
    std::printf("confusion matrix (rows: true class, columns: predicted class)\n");
    std::printf("%*s", w, "");
    for (int64_t k = 0; k < c; ++k) std::printf(" %5ld", long(k));
    std::printf("  recall\n");
    for (int64_t t = 0; t < c; ++t) {
        const std::string name = t < int64_t(spec.class_names.size()) ? spec.class_names[t] : "";
        std::printf("%2ld %-*s", long(t), w - 3, name.c_str());
        int64_t row = 0;
        for (int64_t k = 0; k < c; ++k) {
            std::printf(" %5ld", long(r.confusion[t * c + k]));
            row += r.confusion[t * c + k];
        }
        const double recall = row ? 100.0 * r.confusion[t * c + t] / row : 0.0;
        std::printf("  %5.1f%%\n", recall);
    }
}

void run(const EvalArgs& a) {
    check<UsageError>(!(a.model.size() && a.config.size()),
                      "eval: give --model or --config, not both");
    check<UsageError>(a.batch >= 1, "eval: --batch must be at least 1, got ", a.batch);
    check<UsageError>(a.limit_test >= 0, "eval: --limit-test must be >= 0, got ", a.limit_test);
    check<UsageError>(a.threads >= 0, "eval: --threads must be >= 1 (0: all cores), got ",
                      a.threads);
    if (a.threads > 0) set_num_threads(a.threads);
    check<ValueError>(std::filesystem::is_regular_file(a.weights), "--weights ", a.weights,
                      ": no such file");
    SafetensorsFile f = load_safetensors(a.weights);
    auto meta = f.metadata.find("config");

    const DataSpec spec = parse_data_spec(a.data);
    auto test_set = load_split(spec, false);

    TrainOptions choose;  // the model: --model / --config, else the weights file's config
    choose.model = a.model;
    choose.config_file = a.config;
    if (a.model.empty() && a.config.empty()) {
        check<ValueError>(meta != f.metadata.end(), "eval: ", a.weights,
                          " has no config in its metadata; give --model NAME or --config FILE");
        try {
            choose.model_kwargs = nlohmann::json::parse(meta->second);
        } catch (const nlohmann::json::exception&) {
            fail<FormatError>(a.weights, ": metadata 'config' is not JSON");
        }
        auto name = f.metadata.find("model");
        choose.model = name != f.metadata.end() ? name->second : "";
    }
    ModelChoice choice = resolve_model(choose);
    if (!a.model.empty()) {  // a named model follows the data set, as in `cardinal train`
        choice.config.in_chans = test_set->channels;
        choice.config.num_classes = test_set->num_classes;
    }
    check<ValueError>(choice.config.in_chans == test_set->channels, "eval: model '", choice.name,
                      "' takes ", choice.config.in_chans, " input channel(s) but ", a.data,
                      " images have ", test_set->channels);
    check<ValueError>(choice.config.num_classes == test_set->num_classes, "eval: model '",
                      choice.name, "' has ", choice.config.num_classes, " classes but ", a.data,
                      " has ", test_set->num_classes);

    Generator gen(0);
    ResNet model(choice.config, &gen);
    // A training checkpoint holds the weights under "model."; model.safetensors holds them bare.
    const bool checkpoint = is_checkpoint(f);
    LoadStateOptions load;
    load.convert_dtype = true;  // a published model.safetensors may hold F16 / BF16
    load.source = "--weights " + a.weights + " (model '" + choice.name + "')";
    model.load_state_dict(checkpoint ? strip_prefix(f.tensors, "model.") : weights_in_file(f), load);

    // The normalization the weights were trained with when the file records it.
    std::vector<double> mean = spec.mean, stdev = spec.std;
    try {
        if (f.metadata.count("mean") && f.metadata.count("std")) {
            mean = nlohmann::json::parse(f.metadata.at("mean")).get<std::vector<double>>();
            stdev = nlohmann::json::parse(f.metadata.at("std")).get<std::vector<double>>();
        }
    } catch (const nlohmann::json::exception&) {
        fail<FormatError>(a.weights, ": metadata 'mean'/'std' are not JSON lists of numbers");
    }
    DataLoader loader(test_set, eval_loader_options(a.batch, a.limit_test, mean, stdev));
    EvalResult r = evaluate(model, loader, choice.config.num_classes);
    std::printf("eval: %s on %s test set (%ld images): accuracy %.2f%%, loss %.4f\n",
                choice.name.c_str(), spec.kind.c_str(), long(r.count), r.accuracy * 100, r.loss);
    print_confusion(r, spec);
}

}  // namespace

void add_eval_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("eval", "Accuracy and confusion matrix of trained weights");
    auto a = std::make_shared<EvalArgs>();  // outlives this function: parse runs later
    cmd->add_option("--model", a->model, "Registry model (see `cardinal models`)");
    cmd->add_option("--config", a->config, "Model config: a JSON file of timm ResNet kwargs");
    cmd->add_option("--weights", a->weights,
                    "model.safetensors (or a checkpoint.safetensors) from `cardinal train`")
        ->required();
    cmd->add_option("--data", a->data, "fashion-mnist[:DIR] | mnist:DIR | cifar10:DIR")
        ->capture_default_str();
    cmd->add_option("--limit-test", a->limit_test, "Use only the first N test images (0: all)");
    cmd->add_option("--batch", a->batch, "Batch size")->capture_default_str();
    cmd->add_option("--threads", a->threads, "Threads (default: all cores)");
    cmd->callback([a]() { run(*a); });
}

}  // namespace cardinal::apps
