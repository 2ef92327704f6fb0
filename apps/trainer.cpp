#include "apps/trainer.h"

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include "apps/curves_svg.h"
#include "apps/data_source.h"
#include "apps/progress.h"
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "io/safetensors.h"
#include "models/resnet.h"
#include "models/weights.h"
#include "ops/loss.h"
#include "optim/adam.h"
#include "optim/schedule.h"
#include "optim/sgd.h"
#include "tensor/error.h"
#include "tensor/escape.h"
#include "tensor/parallel.h"

namespace cardinal::apps {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// Sets the OpenMP thread count for the run and puts the old one back afterwards.
class ThreadScope {
  public:
    explicit ThreadScope(int n) : previous_(get_num_threads()) {
        if (n > 0) set_num_threads(n);
    }
    ~ThreadScope() { set_num_threads(previous_); }

  private:
    int previous_;
};

// Makes `dir` (and parents) and proves a file can be created in it.
void prepare_out_dir(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    check<ValueError>(!ec && fs::is_directory(dir), "--out ", dir, ": cannot create the directory",
                      ec ? " (" + ec.message() + ")" : std::string(" (a file is in the way)"));
    std::string probe = (fs::path(dir) / ".cardinal-write-test-XXXXXX").string();
    const int fd = mkstemp(probe.data());
    check<ValueError>(fd >= 0, "--out ", dir, ": directory is not writable (",
                      std::strerror(errno), ")");
    ::close(fd);
    ::unlink(probe.c_str());
}

// Number of arg-max hits of logits [N, C] against labels [N].
int64_t count_correct(const Tensor& logits, const Tensor& labels) {
    const Tensor l = logits.to(DType::Float32).contiguous();
    const float* p = l.data<float>();
    const int64_t* y = labels.data<int64_t>();
    const int64_t n = l.size(0), c = l.size(1);
    int64_t correct = 0;
    for (int64_t i = 0; i < n; ++i) {
        const float* row = p + i * c;
        int64_t best = 0;
        for (int64_t k = 1; k < c; ++k)
            if (row[k] > row[best]) best = k;
        correct += best == y[i];
    }
    return correct;
}

Tensor int64_scalar(uint64_t bits) {
    return from_vector_i64({static_cast<int64_t>(bits)}, {1});
}

uint64_t uint64_of(const SafetensorsFile& f, const std::string& name) {
    const Tensor& t = f.get(name);
    check<FormatError>(t.dtype() == DType::Int64 && t.numel() == 1, f.path, ": '", name,
                       "' must be one int64, got ", describe(t));
    return static_cast<uint64_t>(t.data<int64_t>()[0]);
}

// Everything a run owns, declared so that users die before what they point to.
struct EpochTotals {
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    int64_t skipped = 0;  // batches with a NaN/Inf loss skipped by --skip-nonfinite
    double lr = 0;
    double train_seconds = 0;  // of the batches so far (a resumed epoch adds its earlier part)

    nlohmann::json to_json() const {
        return {{"loss_sum", loss_sum}, {"correct", correct}, {"seen", seen}, {"lr", lr},
                {"train_seconds", train_seconds}, {"skipped", skipped}};
    }
};

struct Run {
    ModelChoice choice;
    DataSpec data;
    std::unique_ptr<Generator> gen;  // the model keeps a pointer to it
    std::shared_ptr<ResNet> model;
    std::unique_ptr<Optimizer> optimizer;
    std::unique_ptr<LRScheduler> scheduler;  // refers to *optimizer
    std::unique_ptr<DataLoader> train_loader, test_loader;
    std::vector<EpochMetrics> history;
    int64_t start_epoch = 0;  // epochs already done
    int64_t start_step = 0;   // batches of epoch start_epoch already done (a mid-epoch checkpoint)
    EpochTotals start_totals; // and their running totals
};

// A named model follows the data set's channels and classes; an explicit config must match.
void fit_model_to_data(ModelChoice& choice, const TrainOptions& options, const ImageDataset& d) {
    ResNetConfig& c = choice.config;
    const bool named = !options.model_kwargs && options.config_file.empty();
    if (named) {
        c.in_chans = d.channels;
        c.num_classes = d.num_classes;
        c.validate();
        return;
    }
    check<ValueError>(c.in_chans == d.channels, "train: model '", choice.name, "' takes ",
                      c.in_chans, " input channel(s) but ", options.data, " images have ",
                      d.channels, " (set in_chans in the config)");
    check<ValueError>(c.num_classes == d.num_classes, "train: model '", choice.name, "' has ",
                      c.num_classes, " classes but ", options.data, " has ", d.num_classes,
                      " (set num_classes in the config)");
}

// --init-weights: fine-tuning starts from published weights; the head and the input channels
// may differ from the file's (models/weights.h says how each is handled).
void init_from_weights(ResNet& model, const std::string& path, FILE* log) {
    WeightLoadOptions wo;
    wo.skip_classifier_mismatch = true;
    wo.adapt_input_conv = true;
    WeightLoadReport report = load_weights(model, path, wo);
    if (log) {
        std::fprintf(log, "init: weights from %s\n", path.c_str());
        for (const std::string& note : report.notes) std::fprintf(log, "init: %s\n", note.c_str());
    }
}

void build_optimizer(Run& run, const TrainOptions& o) {
    // Weight decay on conv and fc weights only (ndim > 1), none on BN and biases.
    ParamGroup decay, no_decay;
    no_decay.weight_decay = 0.0;
    for (const auto& [name, p] : run.model->named_parameters())
        (p.dim() > 1 ? decay : no_decay).params.push_back(p);
    std::vector<ParamGroup> groups;
    for (ParamGroup* g : {&decay, &no_decay})
        if (!g->params.empty()) groups.push_back(*g);
    if (o.optimizer == "sgd") {
        SGDOptions so;
        so.lr = o.lr;
        so.momentum = o.momentum;
        so.nesterov = o.nesterov;
        so.weight_decay = o.wd;
        run.optimizer = std::make_unique<SGD>(groups, so);
    } else {
        AdamOptions ao;
        ao.lr = o.lr;
        ao.beta1 = o.beta1;
        ao.beta2 = o.beta2;
        ao.weight_decay = o.wd;
        run.optimizer = std::make_unique<AdamW>(groups, ao);
    }
    const int64_t spe = run.train_loader->num_batches();
    const int64_t total = o.epochs * spe;
    Schedule s = Schedule::constant();
    if (o.schedule == "cosine") {
        s = Schedule::warmup_cosine(
            static_cast<int64_t>(std::llround(o.effective_warmup_epochs() * spe)), total);
    } else if (o.schedule == "step") {
        s = Schedule::step(o.step_epochs * spe, o.gamma);
    } else if (o.schedule == "multistep") {
        std::vector<int64_t> steps;
        for (int64_t m : o.milestones) steps.push_back(m * spe);
        s = Schedule::multistep(steps, o.gamma);
    } else if (o.schedule == "onecycle") {
        s = Schedule::one_cycle(total);
    }
    s.validate();
    run.scheduler = std::make_unique<LRScheduler>(*run.optimizer, s);
}

// `step` > 0: a mid-epoch checkpoint (--checkpoint-every) after `step` batches of epoch
// `epochs_done` (0-based), whose running totals are `totals`.
void save_checkpoint(const Run& run, const TrainOptions& o, int64_t epochs_done,
                     const std::string& path, int64_t step = 0,
                     const EpochTotals& totals = EpochTotals()) {
    // Every failure below leaves the previous checkpoint as it was (save_safetensors writes a
    // temporary file and renames it into place only when it is complete and synced).
    NamedTensors t = with_prefix(run.model->state_dict(), "model.");
    for (auto& kv : with_prefix(run.optimizer->state_dict(), "optimizer.")) t.push_back(kv);
    for (auto& kv : with_prefix(run.scheduler->state_dict(), "scheduler.")) t.push_back(kv);
    t.emplace_back("rng.seed", int64_scalar(run.gen->seed()));
    t.emplace_back("rng.offset", int64_scalar(run.gen->offset()));
    t.emplace_back("epoch", int64_scalar(static_cast<uint64_t>(epochs_done)));
    nlohmann::json history = nlohmann::json::array();
    for (const EpochMetrics& m : run.history) history.push_back(m.to_json());
    nlohmann::json options = o.to_json();
    options.erase("config");
    options["model_kwargs"] = run.choice.config.to_json();
    try {
        save_safetensors(path, t,
                         {{"format", kCheckpointFormat},
                          {"model", run.choice.name},
                          {"config", run.choice.config.to_json().dump()},
                          {"options", options.dump()},
                          {"history", history.dump()},
                          {"epoch", std::to_string(epochs_done)},
                          {"step", std::to_string(step)},
                          {"epoch_totals", totals.to_json().dump()},
                          {"threads", std::to_string(get_num_threads())}});
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

// Reads --resume and checks it is a training checkpoint (before the data set is loaded, so a
// wrong path fails at once).
SafetensorsFile read_checkpoint(const std::string& path) {
    check<ValueError>(fs::is_regular_file(path), "--resume ", path, ": no such file");
    SafetensorsFile f = load_safetensors(path);  // FormatError for a corrupt file
    auto it = f.metadata.find("format");
    const std::string format = it == f.metadata.end() ? "" : it->second;
    check<ValueError>(format == kCheckpointFormat, "--resume ", path,
                      ": not a cardinal training checkpoint (metadata format '", format,
                      "'); a weights-only model.safetensors cannot be resumed");
    return f;
}

void load_checkpoint(Run& run, const TrainOptions& o, const SafetensorsFile& f, FILE* log) {
    const std::string& path = f.path;
    auto meta = [&](const char* key) -> std::string {
        auto it = f.metadata.find(key);
        return it == f.metadata.end() ? std::string() : it->second;
    };
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

    const int64_t epochs_done = static_cast<int64_t>(uint64_of(f, "epoch"));
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
        run.model->load_state_dict(strip_prefix(f.tensors, "model."));
        run.optimizer->load_state_dict(strip_prefix(f.tensors, "optimizer."));
        run.scheduler->load_state_dict(strip_prefix(f.tensors, "scheduler."));
    } catch (const Error& e) {
        fail<ValueError>("--resume ", path, ": ", e.what());
    }
    run.gen->set_state(uint64_of(f, "rng.seed"), uint64_of(f, "rng.offset"));
    try {
        for (const auto& m : nlohmann::json::parse(meta("history")))
            run.history.push_back(EpochMetrics::from_json(m));
    } catch (const nlohmann::json::exception&) {
        fail<FormatError>(path, ": checkpoint metadata 'history' is not JSON");
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
            run.start_totals.skipped = t.value("skipped", int64_t{0});
            run.start_totals.lr = t.at("lr").get<double>();
            run.start_totals.train_seconds = t.at("train_seconds").get<double>();
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

void write_outputs(const Run& run, const TrainOptions& o, int64_t epochs_done,
                   TrainResult& result) {
    save_checkpoint(run, o, epochs_done, result.checkpoint_path);
    write_text_atomic(result.metrics_path, metrics_jsonl(run.history));
    write_text_atomic(result.curves_path,
                      render_curves_svg(run.history, run.choice.name + " on " + run.data.kind));
}

// Trains one epoch from batch `first_batch` on, `t` holding the totals of the batches before
// it. With --checkpoint-every N, every N-th step (counted from the start of training) that does
// not end the epoch writes a mid-epoch checkpoint (the epoch's end writes one anyway).
EpochTotals train_epoch(Run& run, const TrainOptions& o, int64_t epoch, FILE* log,
                        ProgressMode mode, int64_t first_batch, EpochTotals t,
                        const std::string& checkpoint_path) {
    DataLoader& loader = *run.train_loader;
    loader.start_epoch(epoch, first_batch);
    run.model->train();
    EpochProgress progress(log, mode, epoch + 1, o.epochs, loader.num_batches());
    const auto t0 = Clock::now();
    const double seconds_before = t.train_seconds;
    Batch batch;
    while (loader.next(batch)) {
        Tensor logits = run.model->forward(batch.images);
        Tensor loss = cross_entropy(logits, batch.labels, Reduction::Mean, o.label_smoothing);
        // Checked before the step, so a bad batch never reaches the weights.
        const double l = loss.item();
        if (!std::isfinite(l)) {
            check<ValueError>(o.skip_nonfinite, "train: the loss became ", l, " at epoch ",
                              epoch + 1, " step ", batch.index + 1,
                              " (try a lower --lr, or --skip-nonfinite to skip such batches)");
            ++t.skipped;
            run.scheduler->step();  // the schedule stays on time, as if the step had run
            continue;
        }
        run.optimizer->zero_grad();
        backward(loss);
        t.lr = run.optimizer->lr(0);
        run.optimizer->step();
        run.scheduler->step();

        const int64_t n = batch.labels.numel();
        t.loss_sum += l * static_cast<double>(n);
        t.correct += count_correct(logits, batch.labels);
        t.seen += n;
        progress.update(batch.index + 1, t.loss_sum / t.seen,
                        static_cast<double>(t.correct) / t.seen, t.seen);
        const int64_t steps_done = epoch * loader.num_batches() + batch.index + 1;
        if (o.checkpoint_every > 0 && steps_done % o.checkpoint_every == 0 &&
            batch.index + 1 < loader.num_batches()) {
            t.train_seconds = seconds_before + seconds_since(t0);
            save_checkpoint(run, o, epoch, checkpoint_path, batch.index + 1, t);
        }
    }
    progress.finish();
    t.train_seconds = seconds_before + seconds_since(t0);
    return t;
}

}  // namespace

LoaderOptions eval_loader_options(int64_t batch, int64_t limit, const std::vector<double>& mean,
                                  const std::vector<double>& stdev) {
    LoaderOptions lo;
    lo.batch_size = batch;
    lo.shuffle = false;
    lo.drop_last = false;
    lo.limit = limit;
    lo.prefetch = true;
    lo.transforms.mean = mean;
    lo.transforms.std = stdev;
    return lo;
}

EvalResult evaluate(Module& model, DataLoader& loader, int64_t num_classes) {
    NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    EvalResult r;
    r.num_classes = num_classes;
    r.confusion.assign(static_cast<size_t>(num_classes * num_classes), 0);
    double loss_sum = 0;
    int64_t correct = 0;
    loader.start_epoch(0);
    Batch batch;
    while (loader.next(batch)) {
        Tensor logits = model.forward(batch.images);
        check<ShapeError>(logits.dim() == 2 && logits.size(1) == num_classes,
                          "evaluate: the model gives ", describe(logits), " for ",
                          num_classes, " classes");
        loss_sum += cross_entropy(logits, batch.labels, Reduction::Sum).item();
        const Tensor l = logits.to(DType::Float32).contiguous();
        const float* p = l.data<float>();
        const int64_t* y = batch.labels.data<int64_t>();
        for (int64_t i = 0; i < l.size(0); ++i) {
            const float* row = p + i * num_classes;
            int64_t best = 0;
            for (int64_t k = 1; k < num_classes; ++k)
                if (row[k] > row[best]) best = k;
            ++r.confusion[static_cast<size_t>(y[i] * num_classes + best)];
            correct += best == y[i];
        }
        r.count += l.size(0);
    }
    model.train(was_training);
    r.loss = r.count ? loss_sum / static_cast<double>(r.count) : 0;
    r.accuracy = r.count ? static_cast<double>(correct) / static_cast<double>(r.count) : 0;
    return r;
}

TrainResult run_training(const TrainOptions& o, FILE* log) {
    o.validate();
    const auto run_start = Clock::now();
    ThreadScope threads(o.threads);
    Run run;
    run.data = parse_data_spec(o.data);
    run.choice = resolve_model(o);
    std::optional<SafetensorsFile> checkpoint;
    if (!o.resume.empty()) checkpoint = read_checkpoint(o.resume);
    prepare_out_dir(o.out);
    TrainResult result;
    result.checkpoint_path = (fs::path(o.out) / "checkpoint.safetensors").string();
    result.model_path = (fs::path(o.out) / "model.safetensors").string();
    result.metrics_path = (fs::path(o.out) / "metrics.jsonl").string();
    result.curves_path = (fs::path(o.out) / "curves.svg").string();
    remove_stale_checkpoint_temporaries(result.checkpoint_path);

    auto train_set = load_split(run.data, true);
    auto test_set = load_split(run.data, false);
    fit_model_to_data(run.choice, o, *train_set);
    const std::vector<double>& norm_mean = o.mean.empty() ? run.data.mean : o.mean;
    const std::vector<double>& norm_std = o.std.empty() ? run.data.std : o.std;

    LoaderOptions lo;
    lo.batch_size = o.batch;
    lo.shuffle = true;
    lo.drop_last = o.drop_last;
    lo.limit = o.limit_train;
    lo.seed = o.seed;
    lo.prefetch = true;
    lo.transforms.random_crop = true;
    lo.transforms.crop_padding = o.crop_padding;
    lo.transforms.hflip_p = o.hflip;
    lo.transforms.mean = norm_mean;
    lo.transforms.std = norm_std;
    const int64_t train_images = o.limit_train > 0 ? std::min(o.limit_train, train_set->size())
                                                   : train_set->size();
    check<ValueError>(!o.drop_last || train_images >= o.batch, "train: ", train_images,
                      " training images make no full batch of --batch ", o.batch);
    run.train_loader = std::make_unique<DataLoader>(train_set, lo);
    run.test_loader = std::make_unique<DataLoader>(
        test_set, eval_loader_options(o.eval_batch, o.limit_test, norm_mean, norm_std));

    run.gen = std::make_unique<Generator>(o.seed);
    run.model = std::make_shared<ResNet>(run.choice.config, run.gen.get());
    if (!o.init_weights.empty() && !checkpoint) init_from_weights(*run.model, o.init_weights, log);
    build_optimizer(run, o);
    if (checkpoint) load_checkpoint(run, o, *checkpoint, log);
    write_text_atomic((fs::path(o.out) / "options.json").string(), o.recipe().dump(2) + "\n");
    if (log && o.schedule == "cosine" && o.effective_warmup_epochs() != o.warmup_epochs)
        std::fprintf(log,
                     "note: the %g-epoch warmup is clamped to %g epochs (half of --epochs %ld)\n",
                     o.warmup_epochs, o.effective_warmup_epochs(), long(o.epochs));

    const ProgressMode mode = progress_mode(o.progress.c_str(), log);
    if (log) {
        std::fprintf(log,
                     "train: %s (%ld parameters) on %s: %ld training / %ld test images, "
                     "%ld steps of %ld per epoch, %s lr %g, %s schedule, %d threads -> %s\n",
                     run.choice.name.c_str(), long(run.model->num_parameters()),
                     run.data.kind.c_str(), long(run.train_loader->size()),
                     long(run.test_loader->size()), long(run.train_loader->num_batches()),
                     long(o.batch), run.optimizer->name(), o.lr, o.schedule.c_str(),
                     get_num_threads(), o.out.c_str());
        if (run.start_step > 0)
            std::fprintf(log, "resuming epoch %ld after batch %ld from %s\n",
                         long(run.start_epoch + 1), long(run.start_step), o.resume.c_str());
        else if (run.start_epoch > 0)
            std::fprintf(log, "resuming after epoch %ld from %s\n", long(run.start_epoch),
                         o.resume.c_str());
        std::fflush(log);
    }

    const int64_t last = o.stop_after > 0 ? std::min(o.stop_after, o.epochs) : o.epochs;
    double cum = run.history.empty() ? 0.0 : run.history.back().cum_seconds;
    for (int64_t epoch = run.start_epoch; epoch < last; ++epoch) {
        const bool resumed_mid_epoch = epoch == run.start_epoch && run.start_step > 0;
        EpochTotals t = train_epoch(run, o, epoch, log, mode, resumed_mid_epoch ? run.start_step : 0,
                                    resumed_mid_epoch ? run.start_totals : EpochTotals(),
                                    result.checkpoint_path);
        const double train_s = t.train_seconds;
        const auto t1 = Clock::now();
        EvalResult ev = evaluate(*run.model, *run.test_loader, run.choice.config.num_classes);
        const double eval_s = seconds_since(t1);

        EpochMetrics m;
        m.epoch = epoch + 1;
        const double seen = t.seen > 0 ? static_cast<double>(t.seen) : 1.0;  // all skipped
        m.train_loss = t.loss_sum / seen;
        m.train_acc = static_cast<double>(t.correct) / seen;
        m.skipped_nonfinite = t.skipped;
        m.test_loss = ev.loss;
        m.test_acc = ev.accuracy;
        m.lr = t.lr;
        m.train_seconds = train_s;
        m.eval_seconds = eval_s;
        m.seconds = train_s + eval_s;
        cum += m.seconds;
        m.cum_seconds = cum;
        m.images_per_s = static_cast<double>(t.seen) / train_s;
        run.history.push_back(m);
        write_outputs(run, o, epoch + 1, result);
        if (log) {
            std::fprintf(log,
                         "epoch %ld/%ld  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%  "
                         "lr %.4g  %.1f s (%.0f img/s, eval %.1f s)  total %.1f s\n",
                         long(m.epoch), long(o.epochs), m.train_loss, m.train_acc * 100,
                         m.test_loss, m.test_acc * 100, m.lr, m.seconds, m.images_per_s,
                         eval_s, m.cum_seconds);
            if (t.skipped > 0)
                std::fprintf(log, "epoch %ld: skipped %ld batches with a NaN/Inf loss\n",
                             long(m.epoch), long(t.skipped));
            std::fflush(log);
        }
    }
    result.history = run.history;
    if (last < o.epochs) {
        if (log)
            std::fprintf(log, "stopped after epoch %ld; continue with --resume %s\n", long(last),
                         result.checkpoint_path.c_str());
        return result;
    }
    save_safetensors(result.model_path, run.model->state_dict(),
                     {{"format", "pt"},
                      {"model", run.choice.name},
                      {"config", run.choice.config.to_json().dump()},
                      {"mean", nlohmann::json(norm_mean).dump()},
                      {"std", nlohmann::json(norm_std).dump()},
                      // what `cardinal infer` needs to preprocess an image and name classes
                      {"input_size", std::to_string(run.data.size)},
                      {"label_names", nlohmann::json(run.data.class_names).dump()}});
    result.finished = true;
    if (log) {
        std::fprintf(log, "done: test accuracy %.2f%% in %.1f s of training (%.1f s wall); "
                          "weights in %s\n",
                     run.history.back().test_acc * 100, run.history.back().cum_seconds,
                     seconds_since(run_start), result.model_path.c_str());
        std::fflush(log);
    }
    return result;
}

}  // namespace cardinal::apps
