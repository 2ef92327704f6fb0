// run_infer on bad input: each failure is a cardinal::Error whose message names the culprit,
// and the tolerated differences (F32 weights for a float64 run, missing num_batches_tracked, a
// classifier of another size with skip_classifier_mismatch) work as documented.
#include <catch2/catch.hpp>
#include <fstream>

#include "io/safetensors.h"
#include "models/infer.h"
#include "models/weights.h"
#include "tensor/error.h"
#include "tests/models/infer_test_util.h"

using namespace cardinal;
using cardinal::test::fixture_options;
using cardinal::test::model_fixture;
using cardinal::test::TempDir;
using Catch::Matchers::Contains;

namespace {

const std::string kFixture = model_fixture("tiny_resnext");

NamedTensors fixture_weights() { return weights_in_file(load_safetensors(kFixture)); }

// run_infer on the fixture's config and input, with the weights from `weights`.
InferOptions with_weights(const std::string& weights) {
    InferOptions o = fixture_options(kFixture, DType::Float64, false);
    o.weights = weights;
    return o;
}

void replace(NamedTensors& w, const std::string& name, const Tensor& t) {
    for (auto& [n, v] : w)
        if (n == name) v = t;
}

void erase_named(NamedTensors& w, const std::string& name) {
    std::erase_if(w, [&](const auto& e) { return e.first == name; });
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("infer: a parameter of the wrong shape is named with expected and found shapes",
          "[infer][hostile]") {
    TempDir dir;
    NamedTensors w = fixture_weights();
    replace(w, "layer1.0.conv1.weight", zeros({8, 7, 1, 1}, DType::Float64));
    save_safetensors(dir.file("w.safetensors"), w);
    CHECK_THROWS_AS(run_infer(with_weights(dir.file("w.safetensors"))), ValueError);
    CHECK_THROWS_WITH(run_infer(with_weights(dir.file("w.safetensors"))),
                      Contains("layer1.0.conv1.weight: expected shape [") &&
                          Contains("got [8, 7, 1, 1]") && Contains(dir.file("w.safetensors")));
}

TEST_CASE("infer: a missing parameter is an error naming it", "[infer][hostile]") {
    TempDir dir;
    NamedTensors w = fixture_weights();
    erase_named(w, "layer2.0.bn2.weight");
    save_safetensors(dir.file("w.safetensors"), w);
    CHECK_THROWS_WITH(run_infer(with_weights(dir.file("w.safetensors"))),
                      Contains("missing") && Contains("layer2.0.bn2.weight"));
}

TEST_CASE("infer: an unexpected key is an error naming it", "[infer][hostile]") {
    TempDir dir;
    NamedTensors w = fixture_weights();
    w.emplace_back("head.extra.weight", zeros({3}, DType::Float64));
    save_safetensors(dir.file("w.safetensors"), w);
    CHECK_THROWS_WITH(run_infer(with_weights(dir.file("w.safetensors"))),
                      Contains("unexpected") && Contains("head.extra.weight"));
}

TEST_CASE("infer: missing num_batches_tracked and float32 weights are accepted",
          "[infer][hostile]") {
    TempDir dir;
    NamedTensors w;
    for (auto& [n, t] : fixture_weights())
        if (n.find("num_batches_tracked") == std::string::npos)
            w.emplace_back(n, is_floating(t.dtype()) ? t.to(DType::Float32) : t);
    save_safetensors(dir.file("w.safetensors"), w);
    InferResult r = run_infer(with_weights(dir.file("w.safetensors")));
    // Weights rounded to float32, computed in float64: close to the reference, not equal.
    const Tensor ref = load_safetensors(kFixture).get("logits_eval");
    CHECK(max_abs_diff(r.outputs.at(0).second, ref) < 1e-5);
    CHECK(r.outputs.at(0).second.dtype() == DType::Float64);
}

TEST_CASE("infer: a classifier of another size is an error unless skipped", "[infer][hostile]") {
    TempDir dir;
    NamedTensors w = fixture_weights();
    replace(w, "fc.weight", zeros({5, 192}, DType::Float64));
    replace(w, "fc.bias", zeros({5}, DType::Float64));
    save_safetensors(dir.file("w.safetensors"), w);
    InferOptions o = with_weights(dir.file("w.safetensors"));
    CHECK_THROWS_WITH(run_infer(o), Contains("fc.weight: expected shape [10, 192], got [5, 192]"));
    o.skip_classifier_mismatch = true;
    InferResult r = run_infer(o);
    REQUIRE(r.notes.size() == 2);
    CHECK_THAT(r.notes[0], Contains("skipped fc.weight") && Contains("5 classes"));
    CHECK(r.outputs.at(0).second.shape() == Shape{2, 10});
    // A mismatch elsewhere is still an error with the flag.
    replace(w, "layer1.0.conv1.weight", zeros({8, 7, 1, 1}, DType::Float64));
    save_safetensors(dir.file("w2.safetensors"), w);
    o.weights = dir.file("w2.safetensors");
    CHECK_THROWS_WITH(run_infer(o), Contains("layer1.0.conv1.weight"));
}

TEST_CASE("infer: unknown model and bad dtype", "[infer][hostile]") {
    InferOptions o = fixture_options(kFixture, DType::Float32, false);
    o.config_path.clear();
    o.model = "resnext9000";
    CHECK_THROWS_AS(run_infer(o), ValueError);
    CHECK_THROWS_WITH(run_infer(o), Contains("resnext9000"));
    o.config_path = kFixture;  // both given
    CHECK_THROWS_WITH(run_infer(o), Contains("--model NAME or --config FILE, not both"));
    InferOptions parsed;
    parse_run_dtype("float64", parsed);
    CHECK((parsed.dtype == DType::Float64 && !parsed.bfloat16));
    parse_run_dtype("bfloat16", parsed);
    CHECK((parsed.dtype == DType::Float32 && parsed.bfloat16));
    CHECK_THROWS_AS(parse_run_dtype("float16", parsed), ValueError);
    CHECK_THROWS_WITH(parse_run_dtype("int64", parsed),
                      Contains("float32, float64 or bfloat16") && Contains("int64"));
}

TEST_CASE("infer: bfloat16 is for eval-mode inference of float32 tensors", "[infer][hostile]") {
    InferOptions o = fixture_options(kFixture, DType::Float32, false);
    o.bfloat16 = true;
    o.backward = true;
    CHECK_THROWS_WITH(run_infer(o), Contains("eval-mode inference"));
    o.backward = false;
    o.train_mode = true;
    CHECK_THROWS_WITH(run_infer(o), Contains("eval-mode inference"));
    o.train_mode = false;
    o.dtype = DType::Float64;
    CHECK_THROWS_WITH(run_infer(o), Contains("float32 tensors"));
}

TEST_CASE("infer: an input with the wrong channel count", "[infer][hostile]") {
    TempDir dir;
    save_safetensors(dir.file("x.safetensors"), {{"input", zeros({2, 4, 32, 32}, DType::Float64)}});
    InferOptions o = fixture_options(kFixture, DType::Float64, false);
    o.inputs = {dir.file("x.safetensors")};
    CHECK_THROWS_AS(run_infer(o), ShapeError);
    CHECK_THROWS_WITH(run_infer(o), Contains("4 channels") && Contains("expects 3"));
    save_safetensors(dir.file("y.safetensors"), {{"input", zeros({3, 32, 32}, DType::Float64)}});
    o.inputs = {dir.file("y.safetensors")};
    CHECK_THROWS_WITH(run_infer(o), Contains("[N, C, H, W]"));
}

TEST_CASE("infer: --backward without a target", "[infer][hostile]") {
    TempDir dir;
    SafetensorsFile f = load_safetensors(kFixture);
    save_safetensors(dir.file("x.safetensors"), {{"input", f.get("input")}});
    InferOptions o = fixture_options(kFixture, DType::Float64, true);
    o.inputs = {dir.file("x.safetensors")};
    CHECK_THROWS_AS(run_infer(o), ValueError);
    CHECK_THROWS_WITH(run_infer(o), Contains("`target`") && Contains(dir.file("x.safetensors")));
    // A target of the wrong length, and an image input, are refused as well.
    save_safetensors(dir.file("t.safetensors"),
                     {{"input", f.get("input")}, {"target", from_vector_i64({1, 2, 3}, {3})}});
    o.inputs = {dir.file("t.safetensors")};
    CHECK_THROWS_WITH(run_infer(o), Contains("`target` must be [2]"));
    cardinal::test::write_test_png(dir.file("a.png"), 40, 40);
    o.inputs = {dir.file("a.png")};
    CHECK_THROWS_WITH(run_infer(o), Contains("--backward needs a .safetensors input"));
}

TEST_CASE("infer: a labels file with the wrong number of lines", "[infer][hostile]") {
    TempDir dir;
    InferOptions o = fixture_options(kFixture, DType::Float64, false);
    std::string nine;
    for (int i = 0; i < 9; ++i) nine += "class " + std::to_string(i) + "\n";
    write_text(dir.file("nine.txt"), nine);
    o.labels = dir.file("nine.txt");
    CHECK_THROWS_AS(run_infer(o), ValueError);
    CHECK_THROWS_WITH(run_infer(o), Contains("9 lines") && Contains("10 classes"));
    write_text(dir.file("ten.txt"), nine + "class 9\r\n");  // CRLF on the last line is fine
    o.labels = dir.file("ten.txt");
    InferResult r = run_infer(o);
    CHECK(r.top[0][0].label == "class " + std::to_string(r.top[0][0].index));
    CHECK_THAT(format_predictions(r), Contains("  #1  class ") && Contains("p="));

    // Labels from the file are listed escaped (a terminal escape, an invalid UTF-8 byte), and
    // the JSON lines stay valid JSON.
    std::string hostile;
    for (int i = 0; i < 10; ++i) hostile += "c" + std::to_string(i) + "\x1b[2J\xff\n";
    write_text(dir.file("hostile.txt"), hostile);
    o.labels = dir.file("hostile.txt");
    r = run_infer(o);
    const std::string text = format_predictions(r);
    CHECK_THAT(text, Contains("\\x1B[2J\\xFF"));
    CHECK(text.find('\x1b') == std::string::npos);
    const std::string json = format_predictions_json(r);
    CHECK_NOTHROW(nlohmann::json::parse(json.substr(0, json.find('\n'))));
}

TEST_CASE("infer: config files in every accepted form, and unknown keys", "[infer][hostile]") {
    TempDir dir;
    const std::string spec = load_safetensors(kFixture).metadata.at("spec");
    const auto kwargs = nlohmann::json::parse(spec)["kwargs"];
    write_text(dir.file("spec.json"), spec);
    write_text(dir.file("kwargs.json"), kwargs.dump());
    const auto expected = load_config_file(kFixture).to_json();
    CHECK(load_config_file(dir.file("spec.json")).to_json() == expected);
    CHECK(load_config_file(dir.file("kwargs.json")).to_json() == expected);
    CHECK(expected["num_classes"] == 10);

    auto bad = kwargs;
    bad["stem_widht"] = 8;
    write_text(dir.file("bad.json"), bad.dump());
    CHECK_THROWS_AS(load_config_file(dir.file("bad.json")), ValueError);
    CHECK_THROWS_WITH(load_config_file(dir.file("bad.json")),
                      Contains("stem_widht") && Contains(dir.file("bad.json")));
    write_text(dir.file("broken.json"), "{\"layers\": [1, 1");
    CHECK_THROWS_AS(load_config_file(dir.file("broken.json")), FormatError);
    CHECK_THROWS_AS(load_config_file(dir.file("missing.json")), FormatError);
    auto block = nlohmann::json::parse(spec);
    block["builder"] = "Bottleneck";
    write_text(dir.file("block.json"), block.dump());
    CHECK_THROWS_WITH(load_config_file(dir.file("block.json")), Contains("\"Bottleneck\""));
}

TEST_CASE("infer: an unexpected key with terminal escapes is named escaped", "[infer][hostile]") {
    TempDir dir;
    NamedTensors w = fixture_weights();
    w.emplace_back("\x1b[2J\x1b[31mevil\x07", zeros({1}, DType::Float32));
    save_safetensors(dir.file("evil.safetensors"), w);
    std::string message;
    try {
        run_infer(with_weights(dir.file("evil.safetensors")));
    } catch (const ValueError& e) {
        message = e.what();
    }
    INFO(message);
    CHECK_THAT(message, Contains("unexpected keys") && Contains("\\x1B[2J\\x1B[31mevil\\x07"));
    CHECK(message.find('\x1b') == std::string::npos);
    CHECK(message.find('\x07') == std::string::npos);
}
