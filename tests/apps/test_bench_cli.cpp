// `cardinal bench` end to end: the built binary times a model fixture (as config and weights)
// for one iteration and prints one JSON line whose fields are present and agree with each other;
// bad flags exit 2 with one line on stderr. No test here asserts a time.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "models/infer.h"
#include "apps/model_bench.h"
#include "models/resnet.h"
#include "ops/precision.h"
#include "tests/models/infer_test_util.h"

using namespace cardinal;
using cardinal::test::model_fixture;
using cardinal::test::TempDir;
using Catch::Matchers::Contains;

namespace {

const std::string kBinary = std::string(CARDINAL_BINARY_DIR) + "/cardinal";

struct Run {
    int code = -1;
    std::string out, err;
};

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

Run bench(const TempDir& dir, const std::string& args) {
    const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
    const int status = std::system((kBinary + " bench " + args + " >" + out + " 2>" + err).c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

size_t lines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

// The single JSON line of a successful run.
nlohmann::json parse_line(const Run& r) {
    INFO(r.err);
    REQUIRE(r.code == 0);
    REQUIRE(lines(r.out) == 1);
    return nlohmann::json::parse(r.out);
}

// The fields every run prints, with values that must hold whatever the machine's speed.
void check_common(const nlohmann::json& j, const std::string& mode, int64_t batch,
                  int64_t macs_per_image, const std::string& dtype = "float32") {
    INFO(j.dump());
    CHECK(j.at("mode") == mode);
    CHECK(j.at("batch") == batch);
    CHECK(j.at("size") == "16x12");
    CHECK(j.at("height") == 16);
    CHECK(j.at("width") == 12);
    CHECK(j.at("threads") == 1);
    CHECK(j.at("dtype") == dtype);
    CHECK(j.at("iters") == 1);
    const double ms = j.at("ms_median"), ms_min = j.at("ms_min");
    REQUIRE(ms > 0);
    CHECK(ms_min == ms);  // one timed iteration
    CHECK(j.at("img_s").get<double>() == Approx(batch * 1000.0 / ms).epsilon(0.01));
    CHECK(j.at("macs_per_image") == macs_per_image);
    CHECK(j.at("gmacs_per_image").get<double>() ==
          Approx(static_cast<double>(macs_per_image) / 1e9).epsilon(1e-4));
    const double flop =
        2.0 * static_cast<double>(macs_per_image * batch) * (mode == "train" ? 3.0 : 1.0);
    CHECK(j.at("gflop_s").get<double>() == Approx(flop / (ms * 1e6)).epsilon(0.01));
    const double rss = j.at("peak_rss_mb");
    CHECK(rss > 1.0);
    CHECK(rss < 64 * 1024.0);
    const double reorders = j.at("reorders_per_iter");
    CHECK(reorders >= 0);
    CHECK(reorders == std::floor(reorders));  // one timed iteration: a whole count
}

int64_t fixture_macs(const std::string& fx, int64_t h, int64_t w) {
    ResNet model(load_config_file(fx));
    return count_macs(model, h, w);
}

}  // namespace

TEST_CASE("cardinal bench: infer and train print one JSON line with consistent fields",
          "[bench][cli]") {
    TempDir dir;
    const std::string fx = model_fixture("tiny_seresnext");
    const int64_t macs = fixture_macs(fx, 16, 12);
    REQUIRE(macs > 0);
    const std::string common = "--config " + fx + " --size 16x12 --threads 1 --iters 1";

    nlohmann::json infer = parse_line(bench(dir, common + " --warmup 0"));
    check_common(infer, "infer", 1, macs);
    CHECK(infer.at("model") == fx);
    CHECK(infer.at("weights") == "random");

    nlohmann::json train =
        parse_line(bench(dir, common + " --mode train --batch 2 --warmup 1 --weights " + fx));
    check_common(train, "train", 2, macs);
    CHECK(train.at("weights") == fx);
}

TEST_CASE("cardinal bench: bfloat16 inference reports its agreement with float32",
          "[bench][cli][bf16]") {
    if (!bfloat16_supported()) {
        WARN("skipped: this CPU has no native bf16");
        return;
    }
    TempDir dir;
    const std::string fx = model_fixture("tiny_seresnext");
    const std::string common = "--config " + fx + " --weights " + fx +
                               " --size 16x12 --threads 1 --iters 1 --warmup 0 --batch 4";
    nlohmann::json j = parse_line(bench(dir, common + " --dtype bfloat16"));
    check_common(j, "infer", 4, fixture_macs(fx, 16, 12), "bfloat16");
    INFO(j.dump());
    const double agree = j.at("top1_agreement");
    CHECK(agree >= 0);
    CHECK(agree <= 1);
    CHECK(agree * 4 == std::round(agree * 4));  // a fraction of the 4 samples
    const double abs_err = j.at("logit_max_abs_err"), rel_err = j.at("logit_max_rel_err");
    CHECK(abs_err > 0);      // bf16 really ran
    CHECK(rel_err < 5e-2);   // and stayed at bf16's precision
    CHECK(rel_err <= abs_err * 1e6);
    // float32 prints no agreement fields
    nlohmann::json f32 = parse_line(bench(dir, common));
    CHECK_FALSE(f32.contains("top1_agreement"));
}

TEST_CASE("compare_logits counts arg-max agreement and the largest difference", "[bench]") {
    const Tensor ref = from_vector({1.0, 3.0, 2.0, 5.0, 0.0, 1.0}, {2, 3});
    const Tensor same = from_vector({1.5, 3.0, 2.0, 5.0, 0.5, 1.0}, {2, 3});
    LogitAgreement a = compare_logits(same, ref);
    CHECK(a.top1_agreement == 1.0);
    CHECK(a.max_abs_error == Approx(0.5));
    CHECK(a.max_rel_error == Approx(0.1));
    const Tensor flipped = from_vector({1.0, 3.0, 2.0, 0.0, 5.0, 1.0}, {2, 3});
    CHECK(compare_logits(flipped, ref).top1_agreement == 0.5);
    CHECK_THROWS_WITH(compare_logits(from_vector({1.0}, {1, 1}), ref),
                      Contains("[N, classes]"));
}

TEST_CASE("cardinal bench: a registered model at its input size", "[bench][cli]") {
    TempDir dir;
    nlohmann::json j =
        parse_line(bench(dir, "--model resnest_small --threads 1 --iters 1 --warmup 0 --batch 2"));
    CHECK(j.at("model") == "resnest_small");
    CHECK(j.at("size") == "28x28");  // the model's input_size
    ResNet model(model_info("resnest_small").config);
    CHECK(j.at("macs_per_image") == count_macs(model, 28, 28));
}

TEST_CASE("cardinal bench --peak prints the sgemm speed", "[bench][cli]") {
    TempDir dir;
    nlohmann::json j = parse_line(bench(dir, "--peak --iters 1 --threads 1"));
    CHECK(j.at("peak") == "dnnl_sgemm");
    CHECK(j.at("n") == 2048);
    CHECK(j.at("threads") == 1);
    const double ms = j.at("ms_min"), gflops = j.at("gflop_s");
    REQUIRE(ms > 0);
    CHECK(gflops == Approx(2.0 * 2048.0 * 2048.0 * 2048.0 / (ms * 1e6)).epsilon(0.01));
}

TEST_CASE("cardinal bench: bad flags exit 2 with one line", "[bench][cli]") {
    TempDir dir;
    const std::string fx = model_fixture("tiny_seresnext");
    const std::pair<std::string, std::string> cases[] = {
        {"", "exactly one of --model NAME and --config FILE"},
        {"--model resnest_small --config " + fx, "--model excludes --config"},
        {"--model resnet9000", "unknown model 'resnet9000'"},
        {"--model resnest_small --mode fly", "--mode must be infer or train, got 'fly'"},
        {"--model resnest_small --batch 0", "--batch must be at least 1, got 0"},
        {"--model resnest_small --batch two", "--batch"},
        {"--model resnest_small --size 0", "--size must be H or HxW"},
        {"--model resnest_small --size 16x", "got '16x'"},
        {"--model resnest_small --iters 0", "--iters must be at least 1, got 0"},
        {"--model resnest_small --warmup -1", "--warmup must be 0 or more, got -1"},
        {"--model resnest_small --threads -2", "--threads must be positive, got -2"},
        {"--model resnest_small --mode train --dtype bfloat16",
         "--dtype bfloat16 is for --mode infer only"},
        {"--model resnest_small --dtype float16",
         "--dtype must be float32 or bfloat16, got 'float16'"},
        {"--peak --model resnest_small", "excludes"},
        {"--model resnest_small --frobnicate", "--frobnicate"},
    };
    for (const auto& [args, message] : cases) {
        Run r = bench(dir, args);
        INFO("bench " << args << "\nstderr: " << r.err);
        CHECK(r.code == 2);
        CHECK_THAT(r.err, Contains(message));
        CHECK(lines(r.err) == 1);
        CHECK(r.out.empty());
    }
}

TEST_CASE("cardinal bench: an unreadable weights file is an error, not a usage error",
          "[bench][cli]") {
    TempDir dir;
    Run r = bench(dir, "--model resnest_small --iters 1 --weights /nonexistent/w.safetensors");
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("/nonexistent/w.safetensors"));
    CHECK(lines(r.err) == 1);
}
