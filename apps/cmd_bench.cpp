// `cardinal bench`: time a network's inference or training step (apps/model_bench.h) and print
// one JSON line; `cardinal bench --peak` prints the machine's sgemm speed (apps/sgemm_peak.h).
// This file only maps flags to BenchOptions; a flag value that cannot run exits 2.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "apps/commands.h"
#include "apps/model_bench.h"
#include "apps/sgemm_peak.h"
#include "tensor/parallel.h"

namespace cardinal::apps {

namespace {

struct BenchArgs {
    BenchOptions options;
    std::string size;  // "H" or "HxW"; empty: the model's input size
    int threads = 0;
    bool peak = false;
};

// A positive integer that is the whole of `text`, or -1.
int64_t parse_dim(const std::string& text) {
    int64_t v = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, v);
    return ec == std::errc() && ptr == end && v > 0 ? v : -1;
}

// "224" -> 224x224, "160x128" -> 160x128.
void parse_size(const std::string& text, BenchOptions& o) {
    const size_t x = text.find('x');
    const int64_t h = parse_dim(text.substr(0, x));
    const int64_t w = x == std::string::npos ? h : parse_dim(text.substr(x + 1));
    if (h < 0 || w < 0)
        throw UsageError(
            "bench: --size must be H or HxW with positive integers (224, 160x128), "
            "got '" +
            text + "'");
    o.height = h;
    o.width = w;
}

void run(BenchArgs& args) {
    if (args.threads < 0)
        throw UsageError("bench: --threads must be positive, got " + std::to_string(args.threads));
    if (args.threads > 0) set_num_threads(args.threads);
    BenchOptions& o = args.options;
    if (args.peak) {
        if (o.iters < 1)
            throw UsageError("bench: --iters must be at least 1, got " + std::to_string(o.iters));
        const SgemmPeak p = measure_sgemm_peak(o.iters);
        nlohmann::ordered_json j;
        j["peak"] = "dnnl_sgemm";
        j["n"] = p.n;
        j["threads"] = get_num_threads();
        j["reps"] = o.iters;
        j["ms_min"] = std::round(p.ms_min * 1000) / 1000;
        j["ms_median"] = std::round(p.ms_median * 1000) / 1000;
        j["gflop_s"] = std::round(p.gflop_s * 100) / 100;
        std::printf("%s\n", j.dump().c_str());
        return;
    }
    if (!args.size.empty()) parse_size(args.size, o);
    try {
        check_bench_options(o);
    } catch (const ValueError& e) {
        throw UsageError(e.what());
    }
    const BenchResult result = run_bench(o);
    std::printf("%s\n", bench_json(result).dump().c_str());
    std::fflush(stdout);
}

}  // namespace

void add_bench_command(CLI::App& app) {
    auto* cmd = app.add_subcommand(
        "bench", "Time a model's inference or training step on random data; print one JSON line");
    auto args = std::make_shared<BenchArgs>();  // outlives this function: parse runs later
    BenchOptions& o = args->options;
    auto* model =
        cmd->add_option("--model", o.model, "A registered model name (see `cardinal models`)");
    auto* config = cmd->add_option("--config", o.config_path,
                                   "A ResNetConfig file (the formats `cardinal infer` reads)");
    model->excludes(config);
    cmd->add_option("--mode", o.mode,
                    "infer (eval, no graph) or train (forward, loss, "
                    "backward, SGD step)")
        ->capture_default_str();
    cmd->add_option("--batch", o.batch, "Images per iteration")->capture_default_str();
    cmd->add_option("--size", args->size, "Input H or HxW (default: the model's input size)");
    cmd->add_option("--threads", args->threads, "Threads (default: CARDINAL_NUM_THREADS or cores)");
    cmd->add_option("--iters", o.iters, "Timed iterations (with --peak: sgemm calls)")
        ->capture_default_str();
    cmd->add_option("--warmup", o.warmup, "Untimed iterations first")->capture_default_str();
    cmd->add_option("--dtype", o.dtype, "float32, or bfloat16 (infer: bf16 convolutions)")->capture_default_str();
    cmd->add_option("--weights", o.weights, "State dict (.safetensors); random init without it");
    auto* peak = cmd->add_flag("--peak", args->peak,
                               "Print this machine's dnnl_sgemm 2048^3 GFLOP/s instead");
    peak->excludes(model)->excludes(config);
    cmd->callback([args]() { run(*args); });
}

}  // namespace cardinal::apps
