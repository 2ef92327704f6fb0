// Every model fixture through run_infer, the function behind `cardinal infer`: the fixture is
// config, weights and input at once. Eval logits, train logits, loss, every gradient and the BN
// buffers after the train forward are compared with the reference (timm, float64):
// max|ours - ref| / max(1, max|ref|) within 1e-9 in float64.
//
// Float32: eval logits within 1e-4. Train mode is ill-conditioned on these tiny networks (BN over
// two values in layer4 at 1x1 with batch 2, attention BNs on 1x1 maps): the float64 run itself
// lands 1e5-1e6 ulps away from the reference there (up to 6e-11 against an epsilon of 1e-16), so
// float32's epsilon of 6e-8 turns into up to ~2e-2 on the deepest gradients and 3e-4..1.2e-3 on
// the train logits (the value moves with the summation order of the conv path chosen). Those get
// 5e-3 (train logits, loss, running stats) and 5e-2 (gradients); float64 is the exact check.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <set>

#include "io/safetensors.h"
#include "models/infer.h"
#include "ops/precision.h"
#include "tests/models/infer_test_util.h"
#include "tests/nn/fixture_check.h"

using namespace cardinal;
using cardinal::test::fixture_options;
using cardinal::test::kModelFixtures;
using cardinal::test::model_fixture;

namespace {

const Tensor* find(const NamedTensors& list, const std::string& name) {
    for (const auto& [n, t] : list)
        if (n == name) return &t;
    return nullptr;
}

struct FixtureRun {
    std::vector<testing::TensorCheck> checks;
    std::vector<std::string> problems;
    double max_error = 0;
    std::string worst;
};

struct Tolerances {
    double eval;   // logits_eval
    double train;  // logits_train, loss, running_after.*
    double grad;   // grad.*
};

// Runs eval, then train + backward, and compares every tensor the fixture recorded.
FixtureRun run_fixture(const std::string& name, DType dtype, const Tolerances& tols) {
    const std::string path = model_fixture(name);
    SafetensorsFile ref = load_safetensors(path);
    testing::FixtureInfo info = testing::read_fixture_info(path);
    FixtureRun run;
    // Gradients that are mathematically zero hold rounding noise: compare those absolutely.
    auto compare = [&](const std::string& key, const NamedTensors& ours,
                       const std::string& ours_key) {
        const Tensor* t = find(ours, ours_key);
        if (t == nullptr) {
            run.problems.push_back("no output " + ours_key + " for " + key);
            return;
        }
        double tol = key == "logits_eval"         ? tols.eval
                     : key.rfind("grad.", 0) == 0 ? tols.grad
                                                  : tols.train;
        auto c = testing::compare_tensor(key, *t, ref.get(key), tol, tol);
        if (!c.absolute && c.error > run.max_error) {
            run.max_error = c.error;
            run.worst = key;
        }
        run.checks.push_back(c);
    };

    InferResult eval = run_infer(fixture_options(path, dtype, false));
    compare("logits_eval", eval.outputs, "logits");
    if (eval.outputs.size() != 1) run.problems.push_back("eval wrote more than `logits`");

    InferResult train = run_infer(fixture_options(path, dtype, true));
    compare("logits_train", train.outputs, "logits");
    compare("loss", train.outputs, "loss");
    compare("grad.input", train.outputs, "grad.input");
    for (const auto& p : info.parameter_keys) compare("grad." + p, train.outputs, "grad." + p);
    for (const auto& b : info.bn_buffer_keys)
        compare("running_after." + b, train.outputs, "running_after." + b);

    // Exactly the fixture's names: logits, loss, grad.*, running_after.*.
    std::set<std::string> expected = {"logits"};
    for (const auto& key : ref.names())
        if (key.rfind("grad.", 0) == 0 || key.rfind("running_after.", 0) == 0 || key == "loss")
            expected.insert(key);
    std::set<std::string> written;
    for (const auto& [n, t] : train.outputs) {
        written.insert(n);
        if (is_floating(t.dtype()) && t.dtype() != dtype)
            run.problems.push_back(n + " is " + dtype_name(t.dtype()) + ", the run dtype is " +
                                   dtype_name(dtype));
    }
    if (written != expected) run.problems.push_back("written names differ from the fixture's");
    return run;
}

void check_all(DType dtype, const Tolerances& tols) {
    for (const auto& name : kModelFixtures) {
        FixtureRun run = run_fixture(name, dtype, tols);
        std::printf("[infer fixture] %-18s %s: %zu tensors, max rel error %.3e (%s)\n",
                    name.c_str(), dtype_name(dtype), run.checks.size(), run.max_error,
                    run.worst.c_str());
        INFO(name << " " << dtype_name(dtype));
        for (const auto& p : run.problems) FAIL_CHECK(p);
        double eval = 0, train = 0, grads = 0, bufs = 0;
        for (const auto& c : run.checks) {
            if (c.absolute) continue;
            double& m = c.name == "logits_eval"                  ? eval
                        : c.name.rfind("grad.", 0) == 0          ? grads
                        : c.name.rfind("running_after.", 0) == 0 ? bufs
                                                                 : train;
            m = std::max(m, c.error);
        }
        std::printf("    eval logits %.2e  train logits/loss %.2e  gradients %.2e  running %.2e\n",
                    eval, train, grads, bufs);
        for (const auto& c : run.checks) {
            INFO(c.name << ": err " << c.error << " tol " << c.tol << " max|ref| " << c.ref_max
                        << (c.absolute ? " (absolute)" : "") << " " << c.problem);
            CHECK(c.ok);
        }
        CHECK(run.checks.size() > 20);
    }
}

}  // namespace

TEST_CASE("infer reproduces every model fixture in float64", "[infer][fixtures]") {
    check_all(DType::Float64, {1e-9, 1e-9, 1e-9});
}

TEST_CASE("infer reproduces every model fixture in float32", "[infer][fixtures]") {
    check_all(DType::Float32, {1e-4, 5e-3, 5e-2});
}

TEST_CASE("infer top-k follows the logits", "[infer]") {
    const std::string path = model_fixture("tiny_resnext");
    InferOptions o = cardinal::test::fixture_options(path, DType::Float64, false);
    o.topk = 3;
    InferResult r = run_infer(o);
    const Tensor& logits = r.outputs.front().second;
    REQUIRE(r.top.size() == 2);
    for (int64_t i = 0; i < 2; ++i) {
        REQUIRE(r.top[i].size() == 3);
        std::vector<double> row = logits.select(0, i).to_vector();
        double mx = *std::max_element(row.begin(), row.end()), z = 0;
        for (double v : row) z += std::exp(v - mx);
        for (size_t j = 0; j < 3; ++j) {
            const Prediction& p = r.top[i][j];
            CHECK(p.probability == Approx(std::exp(row[p.index] - mx) / z).epsilon(1e-12));
            if (j > 0) CHECK(p.probability <= r.top[i][j - 1].probability);
        }
        CHECK(row[r.top[i][0].index] == mx);
    }
    o.topk = 50;  // more than the 10 classes: all of them
    CHECK(run_infer(o).top[0].size() == 10);
}

TEST_CASE("infer --dtype bfloat16 stays within bf16 precision of the float64 logits",
          "[infer][fixtures][bf16]") {
    if (!bfloat16_supported()) {
        WARN("skipped: this CPU has no native bf16 (oneDNN sees " << cpu_isa_name() << ")");
        return;
    }
    for (const auto& name : kModelFixtures) {
        INFO(name);
        const std::string path = model_fixture(name);
        InferOptions o = cardinal::test::fixture_options(path, DType::Float32, false);
        o.bfloat16 = true;
        const Tensor bf16 = run_infer(o).outputs.front().second;
        const Tensor ref =
            run_infer(cardinal::test::fixture_options(path, DType::Float64, false)).outputs.front().second;
        CHECK(bf16.dtype() == DType::Float32);
        REQUIRE(bf16.shape() == ref.shape());
        const double scale = std::max(1.0, max_abs_diff(ref, zeros_like(ref)));
        const double err = max_abs_diff(bf16.to(DType::Float64), ref) / scale;
        std::printf("[infer bf16] %-18s max rel logit error %.2e\n", name.c_str(), err);
        CHECK(err < 5e-2);
    }
}
