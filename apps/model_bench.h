// `cardinal bench` as a library function: time whole inference passes or training steps of one
// network on random data, and report what the performance tables are read against.
//
//   infer : eval mode under NoGradGuard, logits = model(x)
//   train : train mode, logits = model(x), loss = cross_entropy(logits, y), zero_grad,
//           backward(loss), SGD step (lr 0.01, momentum 0.9, no weight decay)
//
// Every iteration is timed on the wall clock (steady_clock) after `warmup` untimed ones.
// FLOPs are 2 x MACs of the convolutions and the fc (ResNet's count_macs,
// docs/timm-configs.md section 10),
// times 3 for a training step (forward, backward-data, backward-weights).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace cardinal {

struct BenchOptions {
    std::string model;              // a registered name, or
    std::string config_path;        // a ResNetConfig file (models/infer.h load_config_file)
    std::string weights;            // optional state dict; random init (seed 0) without it
    std::string mode = "infer";     // "infer" or "train"
    std::string dtype = "float32";  // or "bfloat16" (infer only: ops/precision.h)
    int64_t batch = 1;
    int64_t height = 0, width = 0;  // 0: the model's input_size (224 for a config file)
    int64_t iters = 10;
    int64_t warmup = 2;
};

// How far one run's logits are from a reference run's on the same batch.
struct LogitAgreement {
    double top1_agreement = 1;  // fraction of samples whose arg-max class is the same
    double max_abs_error = 0;   // max |logit - reference|
    double max_rel_error = 0;   // max_abs_error / max |reference|
};
// Throws ShapeError unless both are [N, classes] of one shape.
LogitAgreement compare_logits(const Tensor& logits, const Tensor& reference);

struct BenchResult {
    std::string model;     // the name, or the config file
    BenchOptions options;  // with height and width resolved
    int threads = 0;
    std::vector<double> ms;  // one per timed iteration
    double ms_median = 0, ms_min = 0;
    int64_t macs_per_image = 0;     // forward, convs + fc
    double gflop_per_iter = 0;      // 2 x MACs x batch (x3 for train)
    double img_s = 0, gflop_s = 0;  // at ms_median
    double peak_rss_mb = 0;         // VmHWM of the process at the end
    double reorders_per_iter = 0;   // oneDNN reorders executed per timed iteration
    // bfloat16 only: the last timed batch against the same batch in float32
    std::optional<LogitAgreement> agreement;
};

// Throws ValueError naming the first option that cannot run (no model is built).
void check_bench_options(const BenchOptions& options);

// check_bench_options, then the measurement.
BenchResult run_bench(const BenchOptions& options);

// One JSON object, figures to 5 significant digits: model, mode, batch, size "HxW", height,
// width, threads, dtype, weights, iters, warmup, ms_median, ms_min, img_s, gflop_s,
// macs_per_image, gmacs_per_image, peak_rss_mb, reorders_per_iter; for bfloat16 also
// top1_agreement, logit_max_abs_err and logit_max_rel_err (compare_logits against float32).
nlohmann::ordered_json bench_json(const BenchResult& result);

// The process's peak resident set (VmHWM of /proc/self/status) in MiB; 0 where it is unknown.
double peak_rss_mb();

// The median of a non-empty list.
double median(std::vector<double> values);

}  // namespace cardinal
