// `cardinal train` outputs used elsewhere: a 1-epoch run with the default recipe (its warmup
// clamped), options.json read back as a recipe, model.safetensors classifying a PNG through
// `infer` with nothing else given, and --init-weights from a 3-channel, other-class-count file.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "apps/trainer.h"
#include "apps_test_util.h"
#include "autograd/grad_mode.h"
#include "io/eval_transform.h"
#include "io/safetensors.h"
#include "models/infer.h"
#include "models/resnet.h"
#include "models/weights.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "tests/models/infer_test_util.h"

using namespace cardinal;
using namespace cardinal::apps;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

#define REQUIRE_FASHION_MNIST()                                                                 \
    if (!testing::have_fashion_mnist()) {                                                       \
        WARN("Fashion-MNIST not installed in " << kFashionMnistDir                              \
                                               << " (package dataset-fashion-mnist): skipped"); \
        return;                                                                                 \
    }

namespace {

std::string read_file(const std::string& path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("train --epochs 1 with the default recipe; its model.safetensors classifies a PNG",
          "[apps][train][infer]") {
    REQUIRE_FASHION_MNIST();
    const std::string out = testing::temp_dir("one_epoch");
    TrainOptions o = testing::tiny_options(out, 256);
    o.epochs = 1;  // the recipe's warmup is 1 epoch: clamped to half of it
    REQUIRE(o.warmup_epochs == 1.0);
    std::FILE* log = std::tmpfile();
    TrainResult r = run_training(o, log);
    std::rewind(log);
    std::string text(4096, '\0');
    text.resize(std::fread(text.data(), 1, text.size(), log));
    std::fclose(log);
    REQUIRE(r.finished);
    CHECK_THAT(text, Contains("warmup is clamped to 0.5 epochs"));

    // options.json is a recipe that gives back the same options.
    const std::string options_path = out + "/options.json";
    REQUIRE(fs::is_regular_file(options_path));
    TrainOptions back;
    back.merge_json(recipe_json(options_path), options_path);
    CHECK(back.recipe() == o.recipe());

    // model.safetensors knows its config, normalisation, image size and class names.
    SafetensorsFile f = load_safetensors(r.model_path);
    CHECK(f.metadata.at("input_size") == "28");
    CHECK(nlohmann::json::parse(f.metadata.at("label_names")).size() == 10);

    // infer with the weights alone: a colour PNG becomes grey, 28x28, normalised as in training.
    cardinal::test::write_test_png(out + "/photo.png", 45, 60);
    InferOptions io;
    io.weights = r.model_path;
    io.inputs = {out + "/photo.png"};
    io.topk = 3;
    InferResult result = run_infer(io);
    REQUIRE(result.top.size() == 1);
    CHECK(!result.top[0][0].label.empty());  // Fashion-MNIST's class names
    CHECK_THAT(result.transform, Contains("28x28"));

    EvalTransform t{28, 1.0, Interpolation::Bicubic, {0.286}, {0.353}};
    const std::vector<double> mean = nlohmann::json::parse(f.metadata.at("mean"));
    const std::vector<double> stdev = nlohmann::json::parse(f.metadata.at("std"));
    t.mean = mean;
    t.std = stdev;
    Tensor x = load_image_for_eval(out + "/photo.png", t, ColorMode::Grey);
    REQUIRE(x.shape() == Shape{1, 1, 28, 28});
    ResNet model(ResNetConfig::from_json(nlohmann::json::parse(f.metadata.at("config"))));
    load_weights(model, f);
    model.eval();
    NoGradGuard no_grad;
    CHECK(max_abs_diff(model.forward(x), result.outputs.at(0).second) <= 1e-5);
}

TEST_CASE("train --init-weights adapts a 3-channel first conv and replaces another head",
          "[apps][train]") {
    REQUIRE_FASHION_MNIST();
    const std::string out = testing::temp_dir("init_weights");
    // "Pretrained" weights: the same network for RGB images and 7 classes.
    nlohmann::json kwargs = testing::tiny_model_kwargs();
    kwargs["in_chans"] = 3;
    kwargs["num_classes"] = 7;
    Generator gen(5);
    ResNet pretrained(ResNetConfig::from_json(kwargs), &gen);
    const std::string weights = out + "/pretrained.safetensors";
    save_weights(pretrained, weights);

    TrainOptions o = testing::tiny_options(out + "/run", 128);
    o.epochs = 1;
    o.init_weights = weights;
    std::FILE* log = std::tmpfile();
    TrainResult r = run_training(o, log);
    std::rewind(log);
    std::string text(8192, '\0');
    text.resize(std::fread(text.data(), 1, text.size(), log));
    std::fclose(log);
    REQUIRE(r.finished);
    CHECK_THAT(text, Contains("adapted conv1.0.weight from 3 input channels to 1"));
    CHECK_THAT(text, Contains("skipped fc.weight"));
    CHECK(read_file(out + "/run/options.json").find("pretrained.safetensors") != std::string::npos);

    // Weights of another architecture are refused, naming the file.
    o.init_weights = cardinal::test::model_fixture("tiny_resnext");
    o.out = out + "/bad";
    CHECK_THROWS_WITH(run_training(o, nullptr), Contains("tiny_resnext.safetensors"));
}
