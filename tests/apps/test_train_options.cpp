// Options, recipes, data specs and the errors `cardinal train` gives for bad flags.
#include <filesystem>
#include <fstream>

#include "apps/data_source.h"
#include "apps/trainer.h"
#include "apps_test_util.h"
#include "tensor/error.h"

using namespace cardinal;
using namespace cardinal::apps;
using Catch::Matchers::Contains;

TEST_CASE("train options: the defaults are the default recipe", "[apps]") {
    TrainOptions defaults, from_recipe;
    from_recipe.model = "x";
    from_recipe.epochs = 99;
    from_recipe.lr = 7;
    from_recipe.merge_json(recipe_json("default"), "recipe");
    CHECK(from_recipe.to_json() == defaults.to_json());
    CHECK(defaults.model == "resnest_small");
    CHECK(defaults.optimizer == "sgd");
    CHECK(defaults.lr == 0.1);
    CHECK(defaults.momentum == 0.9);
    CHECK(defaults.nesterov);
    CHECK(defaults.wd == 5e-4);
    CHECK(defaults.schedule == "cosine");
    CHECK(defaults.warmup_epochs == 1.0);
    CHECK(defaults.label_smoothing == 0.1);
    CHECK(defaults.batch == 128);
    CHECK(defaults.drop_last);
    CHECK(defaults.hflip == 0.5);
    CHECK(defaults.eval_batch == 1000);
    CHECK(defaults.epochs == 6);
    CHECK(defaults.seed == 0);
    const DataSpec spec = parse_data_spec(defaults.data);
    CHECK(spec.mean == std::vector<double>{0.286});
    CHECK(spec.std == std::vector<double>{0.353});
}

TEST_CASE("train options: JSON round trip and strict merge", "[apps]") {
    TrainOptions a;
    a.epochs = 3;
    a.milestones = {2, 5};
    a.mean = {0.5};
    a.std = {0.25};
    a.model_kwargs = testing::tiny_model_kwargs();
    TrainOptions b;
    b.merge_json(a.to_json(), "test");
    CHECK(b.to_json() == a.to_json());
    CHECK_THROWS_WITH(b.merge_json({{"epoch", 3}}, "recipe.json"),
                      Contains("recipe.json") && Contains("unknown option 'epoch'"));
    CHECK_THROWS_WITH(b.merge_json({{"epochs", "three"}}, "recipe.json"),
                      Contains("'epochs' has the wrong type"));
    CHECK_THROWS_WITH(recipe_json("fancy"), Contains("neither a named recipe"));
}

TEST_CASE("train options: numbers out of their type's range are refused, not converted",
          "[apps][hostile]") {
    // Converting 1e300 to an integer is undefined behaviour (UBSan reports it): each is refused.
    TrainOptions o;
    for (const char* bad : {R"({"epochs": 1e300})", R"({"threads": 1e10})",
                            R"({"threads": 4294967296})", R"({"seed": -1})",
                            R"({"milestones": [2, 1e30]})", R"({"batch": 2.5})",
                            R"({"epochs": 18446744073709551615})"}) {
        INFO(bad);
        CHECK_THROWS_WITH(o.merge_json(nlohmann::json::parse(bad), "recipe.json"),
                          Contains("recipe.json") && Contains("out of range"));
    }
    // A whole number written as a float is still that number.
    o.merge_json(nlohmann::json::parse(R"({"epochs": 4.0, "lr": 1})"), "recipe.json");
    CHECK(o.epochs == 4);
    CHECK(o.lr == 1.0);
    // The same in a model config: no integer field takes 1e300.
    CHECK_THROWS_WITH(ResNetConfig::from_json(nlohmann::json::parse(R"({"layers": [1e300, 1, 1, 1]})")),
                      Contains("'layers' must be an integer"));
}

TEST_CASE("train options: every bad value names its flag", "[apps]") {
    auto expect = [](auto change, const char* text) {
        TrainOptions o;
        o.out = "/tmp/x";
        change(o);
        CHECK_THROWS_AS(o.validate(), ValueError);
        CHECK_THROWS_WITH(o.validate(), Contains(text));
    };
    expect([](TrainOptions& o) { o.epochs = 0; }, "--epochs must be at least 1, got 0");
    expect([](TrainOptions& o) { o.batch = -4; }, "--batch");
    expect([](TrainOptions& o) { o.lr = -0.1; }, "--lr must be a positive number");
    expect([](TrainOptions& o) { o.lr = std::nan(""); }, "--lr");
    expect([](TrainOptions& o) { o.wd = -1; }, "--wd");
    expect([](TrainOptions& o) { o.momentum = 1.5; }, "--momentum");
    expect([](TrainOptions& o) { o.optimizer = "lbfgs"; }, "--optimizer must be sgd or adamw");
    expect([](TrainOptions& o) { o.schedule = "linear"; }, "--schedule must be");
    expect([](TrainOptions& o) { o.warmup_epochs = -1; }, "--warmup-epochs must be >= 0");
    expect([](TrainOptions& o) { o.label_smoothing = 1; }, "--label-smoothing");
    expect([](TrainOptions& o) { o.hflip = 2; }, "--hflip");
    expect([](TrainOptions& o) { o.milestones = {3, 2}; }, "--milestones");
    expect([](TrainOptions& o) { o.threads = -1; }, "--threads");
    expect([](TrainOptions& o) { o.limit_train = -1; }, "--limit-train");
    expect([](TrainOptions& o) { o.out.clear(); }, "--out DIR is required");
    expect([](TrainOptions& o) { o.mean = {0.5}; }, "--mean has 1 values but --std has 0");
    expect([](TrainOptions& o) { o.progress = "fancy"; }, "--progress");
}

TEST_CASE("train options: a warmup as long as the run is clamped to half of it", "[apps]") {
    TrainOptions o;
    o.out = "/tmp/x";
    CHECK(o.effective_warmup_epochs() == 1.0);  // 6 epochs: the recipe's 1-epoch warmup
    o.epochs = 1;
    CHECK_NOTHROW(o.validate());
    CHECK(o.effective_warmup_epochs() == 0.5);
    o.epochs = 3;
    o.warmup_epochs = 5;
    CHECK(o.effective_warmup_epochs() == 1.5);
}

TEST_CASE("train options: recipe() reads back as a --recipe, without the run's own keys",
          "[apps]") {
    TrainOptions o;
    o.out = "/tmp/run";
    o.resume = "/tmp/run/checkpoint.safetensors";
    o.stop_after = 2;
    o.lr = 0.05;
    o.init_weights = "timm/model.safetensors";
    nlohmann::json r = o.recipe();
    CHECK(!r.contains("out"));
    CHECK(!r.contains("resume"));
    CHECK(!r.contains("stop_after"));
    TrainOptions back;
    back.merge_json(r, "options.json");
    CHECK(back.lr == 0.05);
    CHECK(back.init_weights == "timm/model.safetensors");
    back.out = o.out;
    back.resume = o.resume;
    back.stop_after = o.stop_after;
    CHECK(back.to_json() == o.to_json());
}

TEST_CASE("train options: models and data sets are resolved with clear errors", "[apps]") {
    TrainOptions o;
    CHECK(resolve_model(o).config.block == "ResNestBottleneck");
    o.model = "resnet9000";
    CHECK_THROWS_WITH(resolve_model(o),
                      Contains("unknown model 'resnet9000'") && Contains("resnest_small"));
    o.config_file = "/nonexistent/model.json";
    CHECK_THROWS_WITH(resolve_model(o),
                      Contains("--config") && Contains("/nonexistent/model.json"));
    const std::string dir = testing::temp_dir("config");
    {
        std::ofstream(dir + "/bad.json") << "{\"layers\": [1, 1], \"blok\": 3}";
        std::ofstream(dir + "/good.json")
            << nlohmann::json{{"model", "mine"}, {"kwargs", testing::tiny_model_kwargs()}};
    }
    o.config_file = dir + "/bad.json";
    CHECK_THROWS_AS(resolve_model(o), ValueError);
    o.config_file = dir + "/good.json";
    CHECK(resolve_model(o).name == "mine");
    CHECK(resolve_model(o).config.block == "BasicBlock");

    CHECK(parse_data_spec("fashion-mnist").dir == kFashionMnistDir);
    CHECK(parse_data_spec("fashion-mnist:/data/f").dir == "/data/f");
    CHECK(parse_data_spec("cifar10:/data/c").channels == 3);
    CHECK_THROWS_WITH(parse_data_spec("imagenet"), Contains("unknown data set 'imagenet'"));
    CHECK_THROWS_WITH(parse_data_spec("cifar10"), Contains("cifar10:DIR"));
    CHECK_THROWS_WITH(load_split(parse_data_spec("fashion-mnist:/nonexistent/fm"), true),
                      Contains("/nonexistent/fm") && Contains("dataset-fashion-mnist"));
    CHECK_THROWS_WITH(load_split(parse_data_spec("fashion-mnist:" + dir), true),
                      Contains("cannot read training set") && Contains("dataset-fashion-mnist"));
}

TEST_CASE("train: unusable --out and bad flags stop before any training", "[apps]") {
    const std::string dir = testing::temp_dir("badout");
    std::ofstream(dir + "/file") << "x";
    TrainOptions o = testing::tiny_options(dir + "/file/sub");
    CHECK_THROWS_WITH(run_training(o, nullptr), Contains("--out") && Contains("cannot create"));
    o.out = dir + "/run";
    o.data = "fashion-mnist:/nonexistent/fm";
    CHECK_THROWS_WITH(run_training(o, nullptr), Contains("dataset-fashion-mnist"));
    o.data = "fashion-mnist";
    o.epochs = 0;
    CHECK_THROWS_WITH(run_training(o, nullptr), Contains("--epochs"));
}
