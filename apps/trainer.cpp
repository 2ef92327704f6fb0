#include "apps/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>

#include "apps/curves_svg.h"
#include "apps/data_source.h"
#include "apps/out_dir.h"
#include "apps/param_groups.h"
#include "apps/progress.h"
#include "apps/train_checkpoint.h"
#include "apps/train_dist.h"
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "io/safetensors.h"
#include "models/resnet.h"
#include "models/weights.h"
#include "ops/loss.h"
#include "tensor/allocator.h"
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
    LoadStateReport report = load_weights(model, path, wo);
    if (log) {
        std::fprintf(log, "init: weights from %s\n", path.c_str());
        for (const std::string& note : report.notes) std::fprintf(log, "init: %s\n", note.c_str());
    }
}

void write_outputs(const Run& run, const TrainOptions& o, int64_t epochs_done,
                   TrainResult& result) {
    save_run_checkpoint(run, o, epochs_done, result.checkpoint_path);
    write_text_atomic(result.metrics_path, metrics_jsonl(run.history));
    write_text_atomic(result.curves_path,
                      render_curves_svg(run.history, run.choice.name + " on " + run.data.kind));
}

// Trains one epoch from batch `first_batch` on, `t` holding the totals of the batches before
// it. With --checkpoint-every N, every N-th step (counted from the start of training) that does
// not end the epoch writes a mid-epoch checkpoint (the epoch's end writes one anyway).
// With several ranks (apps/train_dist.h) the batch is this rank's shard, the totals are the
// global batch's, and only rank 0 writes checkpoints.
EpochTotals train_epoch(Run& run, const TrainOptions& o, int64_t epoch, FILE* log,
                        ProgressMode mode, int64_t first_batch, EpochTotals t,
                        const std::string& checkpoint_path, TrainDist& dist) {
    DataLoader& loader = *run.train_loader;
    loader.start_epoch(epoch, first_batch);
    run.model->train();
    EpochProgress progress(log, mode, epoch + 1, o.epochs, loader.num_batches());
    const auto t0 = Clock::now();
    const double seconds_before = t.train_seconds;
    Batch batch;
    // --detect-anomaly: every recorded op checks its outputs, and backward every gradient; the
    // first NaN/Inf is an AutogradError naming the op, given the epoch and step here.
    AnomalyModeGuard anomaly(o.detect_anomaly);
    auto at_step = [&](const AutogradError& e) {
        fail<ValueError>("train: stopped at epoch ", epoch + 1, " step ", batch.index + 1, ": ",
                         e.what());
    };
    while (loader.next(batch)) {
        Tensor logits, loss;
        try {
            logits = run.model->forward(batch.images);
            loss = cross_entropy(logits, batch.labels, Reduction::Mean, o.label_smoothing);
        } catch (const AutogradError& e) {
            at_step(e);
        }
        // Checked before the step, so a bad batch never reaches the weights.
        double l = loss.item();
        double n = static_cast<double>(batch.labels.numel());
        double correct = static_cast<double>(count_correct(logits, batch.labels));
        if (dist.size() > 1) {  // the global batch's: a NaN on one rank stops or skips them all
            double sums[3] = {l * n, correct, n};
            dist.sum(sums, 3);
            l = sums[0] / sums[2];
            correct = sums[1];
            n = sums[2];
        }
        if (!std::isfinite(l)) {
            check<ValueError>(o.skip_nonfinite, "train: the loss became ", l, " at epoch ",
                              epoch + 1, " step ", batch.index + 1,
                              " (try a lower --lr, or --skip-nonfinite to skip such batches)");
            ++t.skipped;
            run.scheduler->step();  // the schedule stays on time, as if the step had run
            continue;
        }
        run.optimizer->zero_grad();
        dist.begin_backward(static_cast<double>(batch.labels.numel()) / batch.global_size);
        try {
            backward(loss);
        } catch (const AutogradError& e) {
            at_step(e);
        }
        dist.end_backward();
        t.lr = run.optimizer->lr(0);
        run.optimizer->step();
        run.scheduler->step();
        if (o.check_replicas)
            dist.check_replicas(*run.model, "after epoch " + std::to_string(epoch + 1) + " step " +
                                                std::to_string(batch.index + 1));

        t.loss_sum += l * n;
        t.correct += static_cast<int64_t>(correct);
        t.seen += static_cast<int64_t>(n);
        progress.update(batch.index + 1, t.loss_sum / t.seen,
                        static_cast<double>(t.correct) / t.seen, t.seen);
        const int64_t steps_done = epoch * loader.num_batches() + batch.index + 1;
        if (o.checkpoint_every > 0 && steps_done % o.checkpoint_every == 0 &&
            batch.index + 1 < loader.num_batches()) {
            t.train_seconds = seconds_before + seconds_since(t0);
            if (dist.root()) save_run_checkpoint(run, o, epoch, checkpoint_path, batch.index + 1, t);
        }
    }
    progress.finish();
    t.train_seconds = seconds_before + seconds_since(t0);
    return t;
}

}  // namespace

TrainResult run_training(const TrainOptions& o, FILE* log) {
    o.validate();
    const auto run_start = Clock::now();
    const std::unique_ptr<TrainDist> dist = TrainDist::create(o);
    if (!dist->root()) log = nullptr;  // rank 0 alone prints and writes
    ThreadScope threads(o.threads > 0 ? o.threads : dist->default_threads());
    Run run;
    run.data = parse_data_spec(o.data);
    run.choice = resolve_model(o);
    std::optional<Checkpoint> checkpoint;
    if (!o.resume.empty()) checkpoint = read_resume_checkpoint(o.resume);
    if (dist->root()) prepare_out_dir(o.out);
    const OutputPaths paths = output_paths(o.out);
    TrainResult result;
    result.checkpoint_path = paths.checkpoint;
    result.model_path = paths.model;
    result.metrics_path = paths.metrics;
    result.curves_path = paths.curves;
    if (dist->root()) remove_stale_checkpoint_temporaries(result.checkpoint_path);

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
    lo.shard = dist->rank();
    lo.shards = dist->size();
    const int64_t train_images = o.limit_train > 0 ? std::min(o.limit_train, train_set->size())
                                                   : train_set->size();
    check<ValueError>(!o.drop_last || train_images >= o.batch, "train: ", train_images,
                      " training images make no full batch of --batch ", o.batch);
    check_global_batch(dist->size(), o.batch, train_images, o.drop_last);
    run.train_loader = std::make_unique<DataLoader>(train_set, lo);
    LoaderOptions eval_lo = eval_loader_options(o.eval_batch, o.limit_test, norm_mean, norm_std);
    eval_lo.shard = dist->rank();  // evaluation sharded too, its sums reduced (sum_eval)
    eval_lo.shards = dist->size();
    run.test_loader = std::make_unique<DataLoader>(test_set, eval_lo);

    run.gen = std::make_unique<Generator>(o.seed);
    {
        // Resuming, the model must fit in its checkpoint, which holds every weight in float32
        // (and the optimizer's state besides): model kwargs read from the file, or a config
        // that is not the checkpoint's, cannot make the run build a model of any size the
        // file claims. Four times the file's size, and 64 MiB for the init's temporaries.
        std::optional<AllocationLimit> limit;
        if (checkpoint) {
            const auto file_bytes = static_cast<int64_t>(fs::file_size(o.resume));
            limit.emplace(4 * file_bytes + (int64_t{64} << 20),
                          "--resume " + escape_for_message(o.resume) + ": model '" +
                              escape_for_message(run.choice.name) +
                              "' is bigger than the checkpoint of " + std::to_string(file_bytes) +
                              " bytes could hold, so it is not this checkpoint's model");
        }
        run.model = std::make_shared<ResNet>(run.choice.config, run.gen.get());
    }
    if (!o.init_weights.empty() && !checkpoint) init_from_weights(*run.model, o.init_weights, log);
    run.optimizer = make_optimizer(*run.model, o);
    run.scheduler = make_scheduler(*run.optimizer, o, run.train_loader->num_batches());
    if (checkpoint) restore_run(run, o, *checkpoint, log);
    dist->attach(*run.model, o);
    if (dist->root()) write_text_atomic(paths.options, o.recipe().dump(2) + "\n");
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
        if (dist->size() > 1)
            std::fprintf(log,
                         "data-parallel: %d ranks of %ld images per step, BatchNorm statistics %s, "
                         "%g MiB gradient buckets, overlap %s\n",
                         dist->size(), long(o.batch / dist->size()),
                         o.sync_bn ? "over the global batch (--sync-bn)" : "per rank",
                         o.bucket_mb, o.overlap ? "on" : "off");
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
                                    result.checkpoint_path, *dist);
        const double train_s = t.train_seconds;
        const auto t1 = Clock::now();
        EvalResult ev = evaluate(*run.model, *run.test_loader, run.choice.config.num_classes);
        if (dist->size() > 1) sum_eval(ev, *dist);
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
        if (dist->root()) write_outputs(run, o, epoch + 1, result);
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
    if (dist->root())
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
