// `cardinal infer` end to end: the built binary (CARDINAL_BINARY_DIR/cardinal) runs a model
// fixture as config, weights and input, writes its outputs, and the written file is compared
// with the fixture; bad invocations exit non-zero with one line on stderr.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "io/safetensors.h"
#include "tests/apps/cli_run.h"
#include "tests/models/infer_test_util.h"
#include "tests/nn/fixture_check.h"

using namespace cardinal;
using cardinal::test::model_fixture;
using cardinal::test::TempDir;

using Run = cardinal::test::CliRun;
using cardinal::test::cardinal_run;

TEST_CASE("cardinal infer reproduces a model fixture end to end", "[infer][cli]") {
    TempDir dir;
    const std::string fx = model_fixture("tiny_seresnext");
    const std::string common = "infer --config " + fx + " --weights " + fx + " --input " + fx +
                               " --dtype float64 --threads 1 --topk 3";
    SafetensorsFile ref = load_safetensors(fx);

    Run eval = cardinal_run(dir, common + " --output " + dir.file("eval.safetensors"));
    INFO(eval.err);
    REQUIRE(eval.status == 0);
    CHECK(std::count(eval.out.begin(), eval.out.end(), '#') == 6);  // 2 inputs x top-3
    SafetensorsFile e = load_safetensors(dir.file("eval.safetensors"));
    REQUIRE(e.names() == std::vector<std::string>{"logits"});
    CHECK(
        testing::compare_tensor("logits", e.get("logits"), ref.get("logits_eval"), 1e-9, 1e-9).ok);

    Run train = cardinal_run(
        dir, common + " --train-mode --backward --output " + dir.file("train.safetensors"));
    INFO(train.err);
    REQUIRE(train.status == 0);
    SafetensorsFile t = load_safetensors(dir.file("train.safetensors"));
    CHECK(t.metadata.at("mode") == "train+backward");
    size_t compared = 0;
    for (const auto& name : t.names()) {
        const std::string key = name == "logits" ? "logits_train" : name;
        REQUIRE(ref.contains(key));
        auto c = testing::compare_tensor(key, t.get(name), ref.get(key), 1e-9, 1e-9);
        INFO(key << " err " << c.error << " " << c.problem);
        CHECK(c.ok);
        ++compared;
    }
    // Every gradient and running buffer of the fixture was written.
    size_t expected = 2;  // logits, loss
    for (const auto& key : ref.names())
        if (key.rfind("grad.", 0) == 0 || key.rfind("running_after.", 0) == 0) ++expected;
    CHECK(compared == expected);
}

TEST_CASE("cardinal infer classifies a PNG with a labels file", "[infer][cli]") {
    TempDir dir;
    const std::string fx = model_fixture("tiny_resnet_d");
    cardinal::test::write_test_png(dir.file("a.png"), 50, 40);
    std::ofstream(dir.file("labels.txt"))
        << "zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n";
    Run r = cardinal_run(dir, "infer --config " + fx + " --weights " + fx + " --input " +
                                  dir.file("a.png") + " --image-size 32 --labels " +
                                  dir.file("labels.txt") + " --topk 2");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find(dir.file("a.png")) != std::string::npos);
    CHECK(std::count(r.out.begin(), r.out.end(), '#') == 2);
}

TEST_CASE("cardinal infer fails with one line on bad invocations", "[infer][cli][hostile]") {
    TempDir dir;
    const std::string fx = model_fixture("tiny_resnext");
    const std::string base = "infer --config " + fx + " --weights " + fx + " --input " + fx;
    std::ofstream(dir.file("nine.txt")) << "a\nb\nc\nd\ne\nf\ng\nh\ni\n";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {base + " --dtype float16", "--dtype must be float32, float64 or bfloat16"},
        {"infer --model resnext9000 --weights " + fx + " --input " + fx, "resnext9000"},
        {base + " --labels " + dir.file("nine.txt"), "9 lines"},
        {"infer --config " + fx + " --weights " + dir.file("none.safetensors") + " --input " + fx,
         "none.safetensors"},
    };
    for (const auto& [args, expect] : cases) {
        Run r = cardinal_run(dir, args);
        INFO(args << "\nstderr: " << r.err);
        CHECK(r.status != 0);
        CHECK(r.err.find(expect) != std::string::npos);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(r.out.empty());
    }
}
