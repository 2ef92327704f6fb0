#include "apps/train_checkpoint.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tensor/error.h"
#include "tensor/parallel.h"

namespace cardinal::apps {

void save_run_checkpoint(const Run& run, const TrainOptions& o, int64_t epochs_done,
                         const std::string& path) {
    Checkpoint c;
    c.model = run.model->state_dict();
    c.optimizer = run.optimizer->state_dict();
    c.scheduler = run.scheduler->state_dict();
    c.rng_seed = run.gen->seed();
    c.rng_offset = run.gen->offset();
    c.epoch = epochs_done;
    nlohmann::json history = nlohmann::json::array();
    for (const EpochMetrics& m : run.history) history.push_back(m.to_json());
    c.history = history.dump();
    nlohmann::json options = o.to_json();
    options.erase("config");
    options["model_kwargs"] = run.choice.config.to_json();
    c.metadata = {{"model", run.choice.name},
                  {"config", run.choice.config.to_json().dump()},
                  {"options", options.dump()},
                  {"threads", std::to_string(get_num_threads())}};
    save_checkpoint(path, c);
}

Checkpoint read_resume_checkpoint(const std::string& path) {
    check<ValueError>(std::filesystem::is_regular_file(path), "--resume ", path, ": no such file");
    SafetensorsFile f = load_safetensors(path);  // FormatError for a corrupt file
    try {
        return checkpoint_from_file(f);
    } catch (const ValueError& e) {
        fail<ValueError>("--resume ", e.what());
    }
}

void restore_run(Run& run, const TrainOptions& o, const Checkpoint& f, FILE* log) {
    const std::string& path = f.path;
    auto meta = [&](const char* key) { return f.meta(key); };
    nlohmann::json saved_config;
    try {
        saved_config = nlohmann::json::parse(meta("config"));
    } catch (const nlohmann::json::exception&) {
        fail<FormatError>(path, ": checkpoint metadata 'config' is not JSON");
    }
    const nlohmann::json config = run.choice.config.to_json();
    if (saved_config != config) {
        std::string diff;
        for (auto it = config.begin(); it != config.end(); ++it) {
            const nlohmann::json old = saved_config.value(it.key(), nlohmann::json());
            if (old != it.value())
                diff += (diff.empty() ? "" : ", ") + it.key() + " " + old.dump() + " vs " +
                        it.value().dump();
        }
        fail<ValueError>("--resume ", path, ": checkpoint is for model '", meta("model"),
                         "', this run trains '", run.choice.name, "' (config differs: ", diff,
                         ")");
    }
    nlohmann::json saved_options;
    try {
        saved_options = nlohmann::json::parse(meta("options"));
    } catch (const nlohmann::json::exception&) {
        fail<FormatError>(path, ": checkpoint metadata 'options' is not JSON");
    }
    const std::string saved_opt = saved_options.value("optimizer", "");
    check<ValueError>(saved_opt == o.optimizer, "--resume ", path, ": checkpoint was trained with --optimizer ",
                      saved_opt, ", this run uses ", o.optimizer);

    const int64_t epochs_done = f.epoch;
    check<ValueError>(epochs_done >= 1 && epochs_done < o.epochs, "--resume ", path,
                      ": checkpoint has finished ", epochs_done, " epoch(s) and this run has --epochs ",
                      o.epochs, " (raise --epochs to train further)");
    try {
        run.model->load_state_dict(f.model);
        run.optimizer->load_state_dict(f.optimizer);
        run.scheduler->load_state_dict(f.scheduler);
    } catch (const Error& e) {
        fail<ValueError>("--resume ", path, ": ", e.what());
    }
    run.gen->set_state(f.rng_seed, f.rng_offset);
    try {
        for (const auto& m : nlohmann::json::parse(f.history))
            run.history.push_back(EpochMetrics::from_json(m));
    } catch (const nlohmann::json::exception&) {
        fail<FormatError>(path, ": checkpoint metadata 'history' is not JSON");
    }
    check<FormatError>(static_cast<int64_t>(run.history.size()) == epochs_done, path, ": history has ",
                       run.history.size(), " epochs, checkpoint says ", epochs_done);
    run.start_epoch = epochs_done;
    const std::string threads = meta("threads");
    if (log && !threads.empty() && threads != std::to_string(get_num_threads()))
        std::fprintf(log,
                     "note: the checkpoint was written with %s threads, this run uses %d; "
                     "results may differ in the last bits from an uninterrupted run\n",
                     threads.c_str(), get_num_threads());
}

}  // namespace cardinal::apps
