// `cardinal infer` on a timm / Hugging Face model folder the test builds (model.safetensors +
// config.json with a pretrained_cfg and label names), a directory of images run in batches,
// JSON Lines output, the saved preprocessed input, preprocessing overrides, and the errors a
// mismatched config.json gives.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "autograd/grad_mode.h"
#include "io/eval_transform.h"
#include "io/safetensors.h"
#include "models/infer.h"
#include "models/resnet.h"
#include "models/weights.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "tests/apps/cli_run.h"
#include "tests/models/infer_test_util.h"

using namespace cardinal;
using cardinal::test::cardinal_run;
using cardinal::test::TempDir;

namespace {

// resnest14d with a 3-class head, random weights, and the config.json timm's save_for_hf writes.
struct HfFolder {
    std::string dir;
    std::shared_ptr<ResNet> model;
};

nlohmann::json hf_config(int64_t num_classes) {
    return {
        {"architecture", "resnest14d"},
        {"num_classes", num_classes},
        {"num_features", 2048},
        {"label_names", {"n0", "n1", "n2"}},
        {"label_descriptions", {{"n0", "zero thing"}, {"n1", "one thing"}, {"n2", "two thing"}}},
        {"pretrained_cfg",
         {{"tag", "custom"},
          {"input_size", {3, 64, 64}},
          {"interpolation", "bicubic"},
          {"crop_pct", 0.9},
          {"crop_mode", "center"},
          {"mean", {0.5, 0.4, 0.3}},
          {"std", {0.25, 0.2, 0.3}},
          {"num_classes", num_classes},
          {"first_conv", "conv1.0"},
          {"classifier", "fc"}}}};
}

HfFolder make_folder(const TempDir& tmp) {
    HfFolder f;
    f.dir = tmp.file("resnest14d.custom");
    std::filesystem::create_directories(f.dir);
    ResNetConfig c = model_info("resnest14d").config;
    c.num_classes = 3;
    Generator gen(11);
    f.model = std::make_shared<ResNet>(c, &gen);
    save_weights(*f.model, f.dir + "/model.safetensors");
    std::ofstream(f.dir + "/config.json") << hf_config(3).dump(2);
    return f;
}

// Three images of different shapes in a directory (sorted: a, b, c).
std::vector<std::string> make_images(const TempDir& tmp) {
    const std::string d = tmp.file("images");
    std::filesystem::create_directories(d);
    cardinal::test::write_test_png(d + "/a.png", 70, 90);
    cardinal::test::write_test_png(d + "/b.png", 120, 64);
    cardinal::test::write_test_png(d + "/c.png", 64, 64);
    std::ofstream(d + "/notes.txt") << "not an image";  // skipped: no image extension
    return {d + "/a.png", d + "/b.png", d + "/c.png"};
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
    std::vector<nlohmann::json> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
    return out;
}

Tensor forward(ResNet& model, const Tensor& x) {
    NoGradGuard no_grad;
    model.eval();
    return model.forward(x);
}

double relative_diff(const Tensor& a, const Tensor& b) {
    double ref = 0;
    for (double v : b.to_vector()) ref = std::max(ref, std::fabs(v));
    return max_abs_diff(a, b) / std::max(1.0, ref);
}

}  // namespace

TEST_CASE("cardinal infer runs an HF model folder on a directory, in batches, as JSON",
          "[infer][cli][hf]") {
    TempDir tmp;
    HfFolder hf = make_folder(tmp);
    const std::vector<std::string> images = make_images(tmp);
    const std::string out = tmp.file("out.safetensors"), saved = tmp.file("input.safetensors");
    cardinal::test::CliRun r =
        cardinal_run(tmp, "infer --model-dir " + hf.dir + " --input " + tmp.file("images") +
                              " --batch 2 --json --topk 3 --threads 1 --output " + out +
                              " --save-input " + saved);
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.err.find("resnest14d.custom") != std::string::npos);

    // One JSON line per image, in name order, with the config's class descriptions.
    std::vector<nlohmann::json> lines = json_lines(r.out);
    REQUIRE(lines.size() == 3);
    SafetensorsFile logits_file = load_safetensors(out);
    const Tensor& logits = logits_file.get("logits");
    REQUIRE(logits.shape() == Shape{3, 3});
    auto top = top_k(logits, 3);
    const std::vector<std::string> names = {"zero thing", "one thing", "two thing"};
    for (size_t i = 0; i < 3; ++i) {
        INFO(lines[i].dump());
        CHECK(lines[i]["file"] == images[i]);
        REQUIRE(lines[i]["indices"].size() == 3);
        double total = 0;
        for (size_t k = 0; k < 3; ++k) {
            const int64_t idx = lines[i]["indices"][k].get<int64_t>();
            CHECK(idx == top[i][k].index);
            CHECK(lines[i]["names"][k] == names[idx]);
            CHECK(lines[i]["probabilities"][k].get<double>() == Approx(top[i][k].probability));
            total += lines[i]["probabilities"][k].get<double>();
        }
        CHECK(total == Approx(1.0));
    }

    // The saved input is the config's eval transform of each image (bicubic, crop 0.9 of 64,
    // its mean and std), and the logits are the network's on it.
    EvalTransform t;
    t.crop_size = 64;
    t.crop_pct = 0.9;
    t.mean = {0.5, 0.4, 0.3};
    t.std = {0.25, 0.2, 0.3};
    SafetensorsFile in = load_safetensors(saved);
    const Tensor& x = in.get("input");
    REQUIRE(x.shape() == Shape{3, 3, 64, 64});
    for (int64_t i = 0; i < 3; ++i)
        CHECK(max_abs_diff(x.slice(0, i, i + 1), load_image_for_eval(images[i], t)) == 0);
    set_num_threads(1);
    CHECK(relative_diff(forward(*hf.model, x), logits) <= 1e-5);

    // --weights FILE with the config.json beside it: the same model, plain text.
    r = cardinal_run(tmp, "infer --weights " + hf.dir + "/model.safetensors --input " + images[0] +
                              " --topk 1 --threads 1");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find(names[top[0][0].index]) != std::string::npos);
}

TEST_CASE("infer: flags override the config.json preprocessing; batches change nothing",
          "[infer][hf]") {
    TempDir tmp;
    HfFolder hf = make_folder(tmp);
    const std::vector<std::string> images = make_images(tmp);
    InferOptions o;
    o.model_dir = hf.dir;
    o.inputs = {tmp.file("images")};
    o.batch = 3;
    const Tensor whole = run_infer(o).outputs.at(0).second;
    o.batch = 1;
    InferResult one = run_infer(o);
    CHECK(one.input_names == images);
    CHECK(relative_diff(one.outputs.at(0).second, whole) <= 1e-5);

    o.preprocess.size = 48;
    o.preprocess.crop_pct = 1.0;
    o.preprocess.interpolation = "bilinear";
    o.preprocess.crop_mode = "squash";
    o.preprocess.mean = {0.1, 0.2, 0.3};
    o.preprocess.std = {0.4, 0.5, 0.6};
    o.save_input = tmp.file("in48.safetensors");
    InferResult r = run_infer(o);
    CHECK(r.transform.find("48x48") != std::string::npos);
    EvalTransform t{
        48, 1.0, Interpolation::Bilinear, {0.1, 0.2, 0.3}, {0.4, 0.5, 0.6}, CropMode::Squash};
    const Tensor x = load_safetensors(o.save_input).get("input");
    REQUIRE(x.shape() == Shape{3, 3, 48, 48});
    CHECK(max_abs_diff(x.slice(0, 1, 2), load_image_for_eval(images[1], t)) == 0);
}

TEST_CASE("infer: a config.json that does not fit is a clear error", "[infer][hf][hostile]") {
    TempDir tmp;
    HfFolder hf = make_folder(tmp);
    const std::vector<std::string> images = make_images(tmp);
    InferOptions o;
    o.model_dir = hf.dir;
    o.inputs = {images[0]};
    const std::string config = hf.dir + "/config.json";

    o.model = "resnext50_32x4d.a1h_in1k";
    CHECK_THROWS_WITH(run_infer(o),
                      Catch::Contains("'resnest14d'") && Catch::Contains("'resnext50_32x4d'"));
    o.model.clear();

    nlohmann::json five = hf_config(5);  // the weights have 3 classes
    five.erase("label_names");
    std::ofstream(config) << five.dump();
    CHECK_THROWS_WITH(run_infer(o),
                      Catch::Contains("num_classes 5") && Catch::Contains("3 classes"));

    nlohmann::json bad = hf_config(3);
    bad["architecture"] = "vit_base_patch16_224";
    std::ofstream(config) << bad.dump();
    CHECK_THROWS_WITH(run_infer(o),
                      Catch::Contains("config.json") && Catch::Contains("vit_base_patch16_224"));

    bad = hf_config(3);
    bad["pretrained_cfg"]["interpolation"] = "lanczos";
    std::ofstream(config) << bad.dump();
    CHECK_THROWS_WITH(run_infer(o), Catch::Contains("config.json") && Catch::Contains("lanczos"));

    bad = hf_config(3);
    bad["pretrained_cfg"]["crop_pct"] = 1.5;
    std::ofstream(config) << bad.dump();
    CHECK_THROWS_WITH(run_infer(o), Catch::Contains("config.json") && Catch::Contains("crop_pct"));

    bad = hf_config(3);
    bad["num_classes"] = "three";
    std::ofstream(config) << bad.dump();
    CHECK_THROWS_WITH(run_infer(o), Catch::Contains("num_classes must be"));

    bad = hf_config(3);
    bad["label_names"] = {"only", "two"};
    std::ofstream(config) << bad.dump();
    CHECK_THROWS_WITH(run_infer(o), Catch::Contains("label_names") && Catch::Contains("2 names"));

    std::ofstream(config) << "{\"architecture\": ";
    CHECK_THROWS_WITH(run_infer(o), Catch::Contains("not valid JSON"));

    std::filesystem::remove(config);
    CHECK_THROWS_WITH(run_infer(o), Catch::Contains("no config.json"));

    o.model_dir = tmp.file("images");
    CHECK_THROWS_WITH(run_infer(o), Catch::Contains("no model.safetensors"));

    o.model_dir = hf.dir;
    o.weights = hf.dir + "/model.safetensors";
    CHECK_THROWS_WITH(run_infer(o), Catch::Contains("not both"));

    InferOptions empty_dir;
    empty_dir.model = "resnest14d";
    empty_dir.weights = hf.dir + "/model.safetensors";
    std::filesystem::create_directories(tmp.file("empty"));
    empty_dir.inputs = {tmp.file("empty")};
    CHECK_THROWS_WITH(run_infer(empty_dir), Catch::Contains("holds no images"));
}
