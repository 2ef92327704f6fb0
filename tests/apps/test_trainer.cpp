// The training loop on small Fashion-MNIST subsets: learning, outputs, resume, bad checkpoints.
#include <filesystem>
#include <fstream>
#include <set>

#include "apps/commands.h"
#include "apps/curves_svg.h"
#include "apps/trainer.h"
#include "apps_test_util.h"
#include "io/safetensors.h"
#include "models/resnet.h"
#include "models/weights.h"
#include "tensor/error.h"
#include "tensor/random.h"

using namespace cardinal;
using namespace cardinal::apps;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

#define REQUIRE_FASHION_MNIST()                                                          \
    if (!testing::have_fashion_mnist()) {                                                \
        WARN("Fashion-MNIST not installed in " << kFashionMnistDir                       \
                                               << " (package dataset-fashion-mnist): skipped"); \
        return;                                                                          \
    }

TEST_CASE("train: a short run learns and writes every output", "[apps][train]") {
    REQUIRE_FASHION_MNIST();
    const std::string out = testing::temp_dir("short");
    TrainOptions o = testing::tiny_options(out);
    TrainResult r = run_training(o, nullptr);
    REQUIRE(r.finished);
    REQUIRE(r.history.size() == 2);
    INFO("epoch 1: loss " << r.history[0].train_loss << " test acc " << r.history[0].test_acc);
    INFO("epoch 2: loss " << r.history[1].train_loss << " test acc " << r.history[1].test_acc);
    CHECK(r.history[1].train_loss < r.history[0].train_loss);
    CHECK(r.history[0].train_loss < 2.302);  // below the loss of a uniform guess
    CHECK(r.history[1].train_acc > 0.3);  // running mean over epoch 2; chance is 0.1
    CHECK(r.history[1].test_acc > 0.25);  // BN statistics are young after 32 steps
    CHECK(r.history[1].cum_seconds >= r.history[1].seconds);

    // metrics.jsonl: one object per epoch with every key
    std::ifstream metrics(r.metrics_path);
    std::string line;
    int lines = 0;
    while (std::getline(metrics, line)) {
        auto j = nlohmann::json::parse(line);
        for (const char* key : {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr",
                                "seconds", "cum_seconds", "images_per_s"})
            CHECK(j.contains(key));
        CHECK(j["epoch"] == ++lines);
        CHECK(j["test_acc"].get<double>() <= 1.0);
    }
    CHECK(lines == 2);

    // checkpoint: the whole state, loadable as safetensors
    SafetensorsFile ck = load_safetensors(r.checkpoint_path);
    CHECK(ck.metadata.at("format") == kCheckpointFormat);
    CHECK(ck.metadata.at("epoch") == "2");
    CHECK(nlohmann::json::parse(ck.metadata.at("config")) ==
          ResNetConfig::from_json(testing::tiny_model_kwargs()).to_json());
    CHECK(nlohmann::json::parse(ck.metadata.at("history")).size() == 2);
    std::set<std::string> prefixes;
    for (const auto& [name, t] : ck.tensors) prefixes.insert(name.substr(0, name.find('.')));
    CHECK(prefixes == std::set<std::string>{"model", "optimizer", "scheduler", "rng", "epoch"});
    CHECK(ck.contains("model.fc.weight"));
    CHECK(ck.contains("optimizer.state.0.momentum_buffer"));
    CHECK(ck.get("scheduler.step").item() == 2 * 16);
    CHECK(ck.contains("rng.offset"));

    // model.safetensors: timm names only, loads into the model its metadata describes
    SafetensorsFile weights = load_safetensors(r.model_path);
    ResNet model(ResNetConfig::from_json(nlohmann::json::parse(weights.metadata.at("config"))));
    model.load_state_dict(weights.tensors);
    CHECK(weights.contains("conv1.0.weight"));
    CHECK(weights.tensors.size() == model.state_dict().size());

    // curves.svg: a complete SVG document with both series and both panels
    std::ifstream svg_file(r.curves_path);
    const std::string svg((std::istreambuf_iterator<char>(svg_file)), {});
    CHECK(svg.rfind("<?xml", 0) == 0);
    CHECK(svg.find("</svg>") != std::string::npos);
    CHECK(svg.find("Loss") != std::string::npos);
    CHECK(svg.find("Accuracy") != std::string::npos);
    CHECK(svg.find("<polyline") != std::string::npos);
}

TEST_CASE("train: stop after epoch 1 + resume gives bit-identical weights", "[apps][train]") {
    REQUIRE_FASHION_MNIST();
    // Dropout and drop-path draw from the checkpointed generator, so resume must restore its
    // state too.
    const std::string straight_dir = testing::temp_dir("straight");
    TrainOptions o = testing::tiny_options(straight_dir, 256);
    nlohmann::json kwargs = testing::tiny_model_kwargs(0.25);
    kwargs["drop_path_rate"] = 0.2;
    o.model_kwargs = kwargs;
    TrainResult straight = run_training(o, nullptr);
    REQUIRE(straight.finished);

    const std::string split_dir = testing::temp_dir("split");
    o.out = split_dir;
    o.stop_after = 1;
    TrainResult first = run_training(o, nullptr);
    CHECK_FALSE(first.finished);
    CHECK_FALSE(fs::exists(first.model_path));
    REQUIRE(first.history.size() == 1);
    o.stop_after = 0;
    o.resume = first.checkpoint_path;
    TrainResult resumed = run_training(o, nullptr);
    REQUIRE(resumed.finished);
    REQUIRE(resumed.history.size() == 2);
    CHECK(resumed.history[0].train_loss == straight.history[0].train_loss);
    CHECK(resumed.history[1].train_loss == straight.history[1].train_loss);
    CHECK(resumed.history[1].test_acc == straight.history[1].test_acc);

    SafetensorsFile a = load_safetensors(straight.model_path);
    SafetensorsFile b = load_safetensors(resumed.model_path);
    REQUIRE(a.names() == b.names());
    int64_t compared = 0;
    for (const auto& [name, t] : a.tensors) {
        INFO(name);
        const Tensor& u = b.get(name);
        REQUIRE(u.shape() == t.shape());
        CHECK(max_abs_diff(t, u) == 0.0);
        compared += t.numel();
    }
    CHECK(compared > 10000);
    // the whole optimizer state agrees too
    SafetensorsFile ca = load_safetensors(straight.checkpoint_path);
    SafetensorsFile cb = load_safetensors(resumed.checkpoint_path);
    REQUIRE(ca.names() == cb.names());
    for (const auto& [name, t] : ca.tensors) {
        INFO(name);
        CHECK(max_abs_diff(t, cb.get(name)) == 0.0);
    }
}

TEST_CASE("train: unusable resume files are refused with clear errors", "[apps][train]") {
    REQUIRE_FASHION_MNIST();
    const std::string dir = testing::temp_dir("badresume");
    TrainOptions o = testing::tiny_options(dir + "/run", 64);
    o.stop_after = 1;
    TrainResult first = run_training(o, nullptr);
    o.stop_after = 0;

    o.resume = dir + "/missing.safetensors";
    CHECK_THROWS_WITH(run_training(o, nullptr), Contains("--resume") && Contains("no such file"));

    // truncated copy
    {
        std::ifstream in(first.checkpoint_path, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), {});
        std::ofstream(dir + "/truncated.safetensors", std::ios::binary)
            << bytes.substr(0, bytes.size() / 2);
        std::ofstream(dir + "/garbage.safetensors", std::ios::binary) << "not a tensor file";
    }
    o.resume = dir + "/truncated.safetensors";
    CHECK_THROWS_AS(run_training(o, nullptr), FormatError);
    CHECK_THROWS_WITH(run_training(o, nullptr), Contains("truncated.safetensors"));
    o.resume = dir + "/garbage.safetensors";
    CHECK_THROWS_WITH(run_training(o, nullptr), Contains("garbage.safetensors"));

    // weights only
    save_safetensors(dir + "/weights.safetensors",
                     ResNet(ResNetConfig::from_json(testing::tiny_model_kwargs())).state_dict(),
                     {{"format", "pt"}});
    o.resume = dir + "/weights.safetensors";
    CHECK_THROWS_WITH(run_training(o, nullptr), Contains("not a cardinal training checkpoint"));

    // another model
    o.resume = first.checkpoint_path;
    TrainOptions other = o;
    nlohmann::json kwargs = testing::tiny_model_kwargs();
    kwargs["channels"] = {8, 16, 32, 64};
    other.model_kwargs = kwargs;
    CHECK_THROWS_WITH(run_training(other, nullptr),
                      Contains("checkpoint is for model") && Contains("this run trains"));
    // another optimizer
    other = o;
    other.optimizer = "adamw";
    CHECK_THROWS_WITH(run_training(other, nullptr), Contains("--optimizer sgd"));
    // already finished
    other = o;
    other.epochs = 1;
    other.warmup_epochs = 0;
    CHECK_THROWS_WITH(run_training(other, nullptr), Contains("raise --epochs"));
}

TEST_CASE("evaluate: the confusion matrix counts every test image once", "[apps][train]") {
    REQUIRE_FASHION_MNIST();
    auto test_set = std::make_shared<const ImageDataset>(load_fashion_mnist(kFashionMnistDir, false));
    DataLoader loader(test_set, eval_loader_options(128, 300, {0.286}, {0.353}));
    Generator gen(1);
    ResNet model(ResNetConfig::from_json(testing::tiny_model_kwargs()), &gen);
    EvalResult r = evaluate(model, loader, 10);
    CHECK(r.count == 300);
    REQUIRE(r.confusion.size() == 100);
    int64_t total = 0, diagonal = 0;
    std::vector<int64_t> per_class(10, 0);
    for (int64_t t = 0; t < 10; ++t)
        for (int64_t p = 0; p < 10; ++p) {
            total += r.confusion[t * 10 + p];
            per_class[t] += r.confusion[t * 10 + p];
            diagonal += t == p ? r.confusion[t * 10 + p] : 0;
        }
    CHECK(total == 300);
    CHECK(r.accuracy == Approx(static_cast<double>(diagonal) / 300));
    for (int64_t i = 0; i < 300; ++i) --per_class[test_set->label(i)];
    CHECK(per_class == std::vector<int64_t>(10, 0));
    CHECK(model.is_training());  // evaluate puts the mode back
}

TEST_CASE("curves.svg: renders one epoch and many", "[apps]") {
    std::vector<EpochMetrics> h;
    CHECK(render_curves_svg(h, "empty").find("</svg>") != std::string::npos);
    for (int e = 1; e <= 30; ++e) {
        EpochMetrics m;
        m.epoch = e;
        m.train_loss = 2.0 / e;
        m.test_loss = 2.2 / e;
        m.train_acc = 1 - 0.9 / e;
        m.test_acc = 1 - 0.95 / e;
        h.push_back(m);
        const std::string svg = render_curves_svg(h, "a <b> & c");
        CHECK(svg.find("a &lt;b&gt; &amp; c") != std::string::npos);
        CHECK(svg.find("nan") == std::string::npos);
        CHECK(svg.find("inf") == std::string::npos);
    }
}

TEST_CASE("train: a NaN/Inf loss stops naming epoch and step, or is skipped and counted",
          "[apps][train][nonfinite]") {
    REQUIRE_FASHION_MNIST();
    const std::string out = testing::temp_dir("nonfinite");
    TrainOptions o = testing::tiny_options(out, 96);
    o.epochs = 1;
    o.limit_test = 32;
    // The first step at this learning rate throws the weights so far that the second batch's
    // loss is no longer finite (nor is any later one: skipped batches leave the weights be).
    o.lr = 1e30;
    o.warmup_epochs = 0;
    CHECK_THROWS_WITH(run_training(o, nullptr), Contains("the loss became") &&
                                                    Contains("at epoch 1 step 2") &&
                                                    Contains("--skip-nonfinite"));
    CHECK_FALSE(fs::exists(out + "/model.safetensors"));

    o.skip_nonfinite = true;
    TrainResult r = run_training(o, nullptr);
    REQUIRE(r.finished);
    REQUIRE(r.history.size() == 1);
    CHECK(r.history[0].skipped_nonfinite == 2);  // 96 images in batches of 32: steps 2 and 3
    std::ifstream metrics(r.metrics_path);
    const nlohmann::json line = nlohmann::json::parse(metrics);
    CHECK(line.at("skipped_nonfinite") == 2);
}

TEST_CASE("train --detect-anomaly names the op that first produced the NaN/Inf",
          "[apps][train][nonfinite]") {
    REQUIRE_FASHION_MNIST();
    const std::string out = testing::temp_dir("anomaly");
    // Weights whose classifier holds a NaN: the convolutions' outputs are finite, the fc's is
    // not, so the first op to produce a NaN is the fc's (LinearBackward), at the first step.
    Generator gen(5);
    ResNet poisoned(ResNetConfig::from_json(testing::tiny_model_kwargs()), &gen);
    bool found = false;
    for (auto& [name, t] : poisoned.named_parameters())
        if (name == "fc.weight") {
            t.fill_(std::nan(""));
            found = true;
        }
    REQUIRE(found);
    const std::string weights = out + "/poisoned.safetensors";
    save_weights(poisoned, weights);

    TrainOptions o = testing::tiny_options(out + "/run", 64);
    o.epochs = 1;
    o.limit_test = 32;
    o.init_weights = weights;
    // Without anomaly mode the loss names the step, not the op.
    CHECK_THROWS_WITH(run_training(o, nullptr),
                      Contains("nan at epoch 1 step 1") && !Contains("Backward"));
    o.detect_anomaly = true;
    CHECK_THROWS_WITH(run_training(o, nullptr),
                      Contains("train: stopped at epoch 1 step 1") &&
                          Contains("the forward of LinearBackward produced NaN/Inf"));
    CHECK_FALSE(fs::exists(out + "/run/model.safetensors"));

    // A run that diverges (the first step at lr 1e30 throws the weights far): in anomaly mode
    // it stops at step 2 naming an op, where it otherwise would name only the loss.
    TrainOptions d = testing::tiny_options(out + "/diverge", 96);
    d.epochs = 1;
    d.limit_test = 32;
    d.lr = 1e30;
    d.warmup_epochs = 0;
    d.detect_anomaly = true;
    CHECK_THROWS_WITH(run_training(d, nullptr),
                      Contains("train: stopped at epoch 1 step 2") && Contains("anomaly: the ") &&
                          Contains("Backward"));

    // It stops where --skip-nonfinite would go on: the two are refused together.
    d.skip_nonfinite = true;
    CHECK_THROWS_AS(run_training(d, nullptr), UsageError);
}
