#include "apps/train_checkpoint.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tensor/error.h"
#include "tensor/escape.h"
#include "tensor/parallel.h"

namespace cardinal::apps {

namespace fs = std::filesystem;

void save_run_checkpoint(const Run& run, const TrainOptions& o, int64_t epochs_done,
                         const std::string& path, int64_t step, const EpochTotals& totals) {
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
                  {"step", std::to_string(step)},
                  {"epoch_totals", totals.to_json().dump()},
                  {"threads", std::to_string(get_num_threads())}};
    // Every failure below leaves the previous checkpoint as it was (save_safetensors writes a
    // temporary file and renames it into place only when it is complete and synced).
    try {
        save_checkpoint(path, c);
    } catch (const Error& e) {
        fail<Error>("train: stopped: cannot write the checkpoint after ",
                    step > 0 ? std::to_string(step) + " batches of epoch " +
                                   std::to_string(epochs_done + 1)
                             : "epoch " + std::to_string(epochs_done),
                    " (", e.what(), "); the previous checkpoint, if any, is unchanged");
    }
}

// A run killed while writing a checkpoint leaves its temporary file (checkpoint.safetensors
// .tmp-XXXXXX) behind; the next run in the directory removes it.
void remove_stale_checkpoint_temporaries(const std::string& checkpoint_path) {
    const fs::path cp(checkpoint_path);
    const std::string prefix = cp.filename().string() + ".tmp-";
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(cp.parent_path(), ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) == 0 && entry.is_regular_file(ec)) fs::remove(entry.path(), ec);
    }
}

Checkpoint read_resume_checkpoint(const std::string& path) {
    check<ValueError>(fs::is_regular_file(path), "--resume ", path, ": no such file");
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
    // The JSON values below come from the file: anything but the shapes a checkpoint writes is
    // a FormatError here, never a JSON library exception further on.
    check<FormatError>(saved_config.is_object(), path,
                       ": checkpoint metadata 'config' is not an object of model kwargs");
    const nlohmann::json config = run.choice.config.to_json();
    if (saved_config != config) {
        std::string diff;
        for (auto it = config.begin(); it != config.end(); ++it) {
            const nlohmann::json old = saved_config.value(it.key(), nlohmann::json());
            if (old != it.value())
                diff += (diff.empty() ? "" : ", ") + it.key() + " " + old.dump() + " vs " +
                        it.value().dump();
        }
        fail<ValueError>("--resume ", path, ": checkpoint is for model '",
                         escape_for_message(meta("model")),
                         "', this run trains '", run.choice.name, "' (config differs: ", diff,
                         ")");
    }
    nlohmann::json saved_options;
    try {
        saved_options = nlohmann::json::parse(meta("options"));
    } catch (const nlohmann::json::exception&) {
        fail<FormatError>(path, ": checkpoint metadata 'options' is not JSON");
    }
    check<FormatError>(saved_options.is_object(), path,
                       ": checkpoint metadata 'options' is not an object of options");
    const auto saved_opt_it = saved_options.find("optimizer");
    check<FormatError>(saved_opt_it != saved_options.end() && saved_opt_it->is_string(), path,
                       ": checkpoint metadata 'options' names no optimizer");
    const std::string saved_opt = saved_opt_it->get<std::string>();
    check<ValueError>(saved_opt == o.optimizer, "--resume ", path, ": checkpoint was trained with --optimizer ",
                      saved_opt, ", this run uses ", o.optimizer);

    const int64_t epochs_done = f.epoch;
    // Batches done in the next epoch: written by --checkpoint-every (absent in older files).
    int64_t step = 0;
    if (!meta("step").empty()) {
        try {
            size_t used = 0;
            step = std::stoll(meta("step"), &used);
            check<FormatError>(used == meta("step").size() && step >= 0, "");
        } catch (const std::exception&) {
            fail<FormatError>(path, ": checkpoint metadata 'step' is not a step count: '",
                              escape_for_message(meta("step")), "'");
        }
    }
    const int64_t batches = run.train_loader->num_batches();
    check<ValueError>(step < batches, "--resume ", path, ": checkpoint is ", step,
                      " batches into an epoch, but this run has only ", batches,
                      " batches per epoch (resume with the same --batch and --limit-train)");
    check<ValueError>(epochs_done >= (step > 0 ? 0 : 1) && epochs_done < o.epochs, "--resume ",
                      path, ": checkpoint has finished ", epochs_done,
                      " epoch(s) and this run has --epochs ", o.epochs,
                      " (raise --epochs to train further)");
    try {
        run.model->load_state_dict(f.model, {.source = "its model"});
        run.optimizer->load_state_dict(f.optimizer);
        run.scheduler->load_state_dict(f.scheduler);
    } catch (const Error& e) {
        fail<ValueError>("--resume ", path, ": ", e.what());
    }
    run.gen->set_state(f.rng_seed, f.rng_offset);
    try {
        const nlohmann::json history = nlohmann::json::parse(f.history);
        check<FormatError>(history.is_array(), path,
                           ": checkpoint metadata 'history' is not a list of epochs");
        for (const auto& m : history) run.history.push_back(EpochMetrics::from_json(m));
    } catch (const nlohmann::json::exception&) {
        fail<FormatError>(path, ": checkpoint metadata 'history' is not JSON epoch metrics");
    }
    check<FormatError>(static_cast<int64_t>(run.history.size()) == epochs_done, path, ": history has ",
                       run.history.size(), " epochs, checkpoint says ", epochs_done);
    run.start_epoch = epochs_done;
    run.start_step = step;
    if (step > 0) {
        try {
            const nlohmann::json t = nlohmann::json::parse(meta("epoch_totals"));
            run.start_totals.loss_sum = t.at("loss_sum").get<double>();
            run.start_totals.correct = t.at("correct").get<int64_t>();
            run.start_totals.seen = t.at("seen").get<int64_t>();
            run.start_totals.lr = t.at("lr").get<double>();
            run.start_totals.train_seconds = t.at("train_seconds").get<double>();
            run.start_totals.skipped = t.value("skipped", int64_t{0});
        } catch (const nlohmann::json::exception&) {
            fail<FormatError>(path, ": checkpoint metadata 'epoch_totals' is not the running "
                              "totals of a mid-epoch checkpoint");
        }
    }
    const std::string threads = meta("threads");
    if (log && !threads.empty() && threads != std::to_string(get_num_threads()))
        std::fprintf(log,
                     "note: the checkpoint was written with %s threads, this run uses %d; "
                     "results may differ in the last bits from an uninterrupted run\n",
                     threads.c_str(), get_num_threads());
}

}  // namespace cardinal::apps
