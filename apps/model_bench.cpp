// The measuring loop of `cardinal bench` (see model_bench.h for what is timed and counted).
#include "apps/model_flag.h"
#include "apps/model_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "models/infer.h"
#include "models/resnet.h"
#include "models/weights.h"
#include "ops/dnnl/reorder_stats.h"
#include "ops/loss.h"
#include "ops/precision.h"
#include "optim/sgd.h"
#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

namespace cardinal {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// v to `digits` significant digits: short JSON, still precise enough to recompute ratios from.
double rounded(double v, int digits = 5) {
    if (v == 0 || !std::isfinite(v)) return v;
    const double scale =
        std::pow(10.0, digits - 1 - static_cast<int>(std::floor(std::log10(std::abs(v)))));
    return std::round(v * scale) / scale;
}

}  // namespace

LogitAgreement compare_logits(const Tensor& logits, const Tensor& reference) {
    check<ShapeError>(logits.dim() == 2 && logits.shape() == reference.shape(),
                      "compare_logits: expected two [N, classes] tensors of one shape, got ",
                      describe(logits), " and ", describe(reference));
    Tensor a = logits.to(DType::Float64).contiguous(), b = reference.to(DType::Float64).contiguous();
    const int64_t n = a.shape()[0], k = a.shape()[1];
    const double* pa = a.data<double>();
    const double* pb = b.data<double>();
    LogitAgreement out;
    double max_ref = 0;
    int64_t same = 0;
    for (int64_t i = 0; i < n; ++i) {
        int64_t arg_a = 0, arg_b = 0;
        for (int64_t j = 0; j < k; ++j) {
            const double va = pa[i * k + j], vb = pb[i * k + j];
            out.max_abs_error = std::max(out.max_abs_error, std::abs(va - vb));
            max_ref = std::max(max_ref, std::abs(vb));
            if (va > pa[i * k + arg_a]) arg_a = j;
            if (vb > pb[i * k + arg_b]) arg_b = j;
        }
        same += arg_a == arg_b;
    }
    out.max_rel_error = max_ref > 0 ? out.max_abs_error / max_ref : out.max_abs_error;
    out.top1_agreement = n > 0 ? static_cast<double>(same) / static_cast<double>(n) : 1.0;
    return out;
}

void check_bench_options(const BenchOptions& o) {
    check<ValueError>(o.model.empty() != o.config_path.empty(),
                      "bench: give exactly one of --model NAME and --config FILE");
    if (!o.model.empty()) apps::model_flag(o.model);  // unknown names list the known ones
    check<ValueError>(o.mode == "infer" || o.mode == "train",
                      "bench: --mode must be infer or train, got '", o.mode, "'");
    check<ValueError>(o.dtype == "float32" || o.dtype == "bfloat16",
                      "bench: --dtype must be float32 or bfloat16, got '", o.dtype, "'");
    check<ValueError>(o.dtype != "bfloat16" || o.mode == "infer",
                      "bench: --dtype bfloat16 is for --mode infer only (training is float32)");
    check<ValueError>(o.dtype != "bfloat16" || bfloat16_supported(),
                      "bench: --dtype bfloat16 needs a CPU with AVX512-BF16 or AMX; oneDNN sees ",
                      cpu_isa_name());
    check<ValueError>(o.batch >= 1, "bench: --batch must be at least 1, got ", o.batch);
    check<ValueError>(o.height >= 0 && o.width >= 0 && (o.height == 0) == (o.width == 0),
                      "bench: --size must be H or HxW with positive sizes, got ", o.height, "x",
                      o.width);
    check<ValueError>(o.iters >= 1, "bench: --iters must be at least 1, got ", o.iters);
    check<ValueError>(o.warmup >= 0, "bench: --warmup must be 0 or more, got ", o.warmup);
}

double median(std::vector<double> values) {
    check<ValueError>(!values.empty(), "median: no values");
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double peak_rss_mb() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) {
            std::istringstream fields(line.substr(6));
            double kib = 0;
            fields >> kib;
            return kib / 1024.0;
        }
    return 0;
}

BenchResult run_bench(const BenchOptions& options) {
    check_bench_options(options);
    BenchResult r;
    r.options = options;
    BenchOptions& o = r.options;
    ResNetConfig config;
    int64_t input_size = 224;
    if (!o.model.empty()) {
        const ModelInfo& info = model_info(o.model);
        config = info.config;
        input_size = info.input_size;
        r.model = o.model;
    } else {
        config = load_config_file(o.config_path);
        r.model = o.config_path;
    }
    if (o.height == 0) o.height = o.width = input_size;
    const bool train = o.mode == "train";
    const bool bf16 = o.dtype == "bfloat16";
    check<ValueError>(!train || config.num_classes > 0,
                      "bench: --mode train needs a classifier (num_classes > 0)");

    Generator gen(0);
    auto model = std::make_shared<ResNet>(config, &gen);
    if (!o.weights.empty()) load_weights(*model, o.weights);
    r.threads = get_num_threads();
    r.macs_per_image = count_macs(*model, o.height, o.width);
    r.gflop_per_iter = 2.0 * static_cast<double>(r.macs_per_image) * static_cast<double>(o.batch) *
                       (train ? 3.0 : 1.0) / 1e9;

    Tensor x = randn({o.batch, config.in_chans, o.height, o.width}, DType::Float32, &gen);
    std::function<void()> step;
    std::unique_ptr<SGD> sgd;
    Tensor y;
    if (train) {
        model->train();
        y = randint(0, config.num_classes, {o.batch}, &gen);
        SGDOptions so;
        so.lr = 0.01;
        so.momentum = 0.9;
        sgd = std::make_unique<SGD>(model->parameters(), so);
        step = [&] {
            Tensor loss = cross_entropy(model->forward(x), y);
            sgd->zero_grad();
            backward(loss);
            sgd->step();
        };
    } else {
        model->eval();
        step = [&] {
            NoGradGuard no_grad;
            ConvPrecisionScope precision(bf16 ? ConvPrecision::BFloat16 : ConvPrecision::Float32);
            y = model->forward(x);
        };
    }

    for (int64_t i = 0; i < o.warmup; ++i) step();
    const int64_t reorders_before = onednn::reorders_executed();
    for (int64_t i = 0; i < o.iters; ++i) {
        const auto start = Clock::now();
        step();
        r.ms.push_back(ms_since(start));
    }
    r.reorders_per_iter = static_cast<double>(onednn::reorders_executed() - reorders_before) /
                          static_cast<double>(o.iters);
    r.ms_median = median(r.ms);
    r.ms_min = *std::min_element(r.ms.begin(), r.ms.end());
    r.img_s = static_cast<double>(o.batch) * 1000.0 / r.ms_median;
    r.gflop_s = r.gflop_per_iter * 1000.0 / r.ms_median;
    r.peak_rss_mb = peak_rss_mb();
    if (bf16) {  // what the speed costs: the same batch once more in float32
        Tensor reference;
        {
            NoGradGuard no_grad;
            reference = model->forward(x);
        }
        r.agreement = compare_logits(y, reference);
    }
    return r;
}

nlohmann::ordered_json bench_json(const BenchResult& r) {
    const BenchOptions& o = r.options;
    nlohmann::ordered_json j;
    j["model"] = r.model;
    j["mode"] = o.mode;
    j["batch"] = o.batch;
    j["size"] = std::to_string(o.height) + "x" + std::to_string(o.width);
    j["height"] = o.height;
    j["width"] = o.width;
    j["threads"] = r.threads;
    j["dtype"] = o.dtype;
    j["weights"] = o.weights.empty() ? "random" : o.weights;
    j["iters"] = o.iters;
    j["warmup"] = o.warmup;
    j["ms_median"] = rounded(r.ms_median);
    j["ms_min"] = rounded(r.ms_min);
    j["img_s"] = rounded(r.img_s);
    j["gflop_s"] = rounded(r.gflop_s);
    j["macs_per_image"] = r.macs_per_image;
    j["gmacs_per_image"] = rounded(static_cast<double>(r.macs_per_image) / 1e9);
    j["peak_rss_mb"] = rounded(r.peak_rss_mb);
    j["reorders_per_iter"] = rounded(r.reorders_per_iter);
    if (r.agreement) {
        j["top1_agreement"] = rounded(r.agreement->top1_agreement);
        j["logit_max_abs_err"] = rounded(r.agreement->max_abs_error, 3);
        j["logit_max_rel_err"] = rounded(r.agreement->max_rel_error, 3);
    }
    return j;
}

}  // namespace cardinal
