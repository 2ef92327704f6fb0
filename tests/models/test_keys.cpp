// Every named timm model's state dict equals tests/data/keys/<model>.txt: names, order,
// shapes and dtypes (copied into tests/data/keys).
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "models/resnet.h"

using namespace cardinal;

namespace {

struct KeyLine {
    std::string name;
    Shape shape;
    std::string dtype;
};

std::vector<KeyLine> read_keys(const std::string& path) {
    std::ifstream f(path);
    REQUIRE(f.good());
    std::vector<KeyLine> out;
    std::string line;
    while (std::getline(f, line)) {
        if (line.empty()) continue;
        std::istringstream ls(line);
        KeyLine k;
        std::string shape;
        std::getline(ls, k.name, '\t');
        std::getline(ls, shape, '\t');
        std::getline(ls, k.dtype, '\t');
        std::istringstream ss(shape);
        std::string dim;
        while (std::getline(ss, dim, ',')) k.shape.push_back(std::stoll(dim));
        out.push_back(k);
    }
    return out;
}

}  // namespace

TEST_CASE("named models match timm's state-dict keys, order, shapes and dtypes", "[models]") {
    const char* names[] = {"resnext50_32x4d", "resnext101_32x8d", "seresnext50_32x4d", "seresnext101_32x4d",
                           "skresnet18", "skresnet34", "skresnext50_32x4d", "resnest14d", "resnest26d",
                           "resnest50d", "resnest101e", "resnest200e", "resnest269e", "resnest50d_4s2x40d",
                           "resnest50d_1s4x24d", "seresnet50", "resnet50d"};
    for (const char* name : names) {
        INFO("model " << name);
        std::vector<KeyLine> expected = read_keys(std::string(CARDINAL_TEST_DATA) + "/keys/" + name + ".txt");
        Generator gen(0);
        auto model = create_model(name, &gen);
        NamedTensors sd = model->state_dict();
        REQUIRE(sd.size() == expected.size());
        for (size_t i = 0; i < sd.size(); ++i) {
            INFO("entry " << i);
            CHECK(sd[i].first == expected[i].name);
            CHECK(shape_str(sd[i].second.shape()) == shape_str(expected[i].shape));
            CHECK(std::string(sd[i].second.dtype() == DType::Int64 ? "I64" : "F32") == expected[i].dtype);
        }
    }
}

TEST_CASE("parameter counts equal docs/timm-configs.md section 10", "[models]") {
    std::vector<std::pair<std::string, int64_t>> counts = {
        {"resnext50_32x4d", 25028904}, {"seresnext50_32x4d", 27559896}, {"skresnext50_32x4d", 27479784},
        {"skresnet18", 11958056},      {"resnest14d", 10611688},        {"resnest26d", 17069448},
        {"resnest50d", 27483240},      {"resnest101e", 48275016},       {"resnest50d_4s2x40d", 30417592},
        {"resnest50d_1s4x24d", 25677000}, {"seresnet50", 28088024},     {"resnet50d", 25576264},
        {"skresnet34", 22282376}};
    for (auto& [name, n] : counts) {
        INFO(name);
        CHECK(create_model(name)->num_parameters() == n);
    }
    CHECK(create_model("resnest_small")->num_parameters() == 144338);
    CHECK(create_model("resnext_small")->num_parameters() == 255642);
}

TEST_CASE("forward MACs at 224x224 equal docs/timm-configs.md section 10", "[models]") {
    std::vector<std::pair<std::string, double>> gmacs = {
        {"resnext50_32x4d", 4.230}, {"seresnext50_32x4d", 4.233}, {"skresnext50_32x4d", 4.463},
        {"skresnet18", 1.814},      {"resnest14d", 2.749},        {"resnest50d", 5.371},
        {"resnest50d_4s2x40d", 4.369}, {"resnest50d_1s4x24d", 4.400}, {"seresnet50", 4.092},
        {"resnet50d", 4.329}};
    for (auto& [name, expected] : gmacs) {
        INFO(name);
        auto model = create_model(name);
        CHECK(std::abs(count_macs(*model, 224, 224) / 1e9 - expected) < 0.0006);
    }
    CHECK(count_macs(*create_model("resnest_small"), 28, 28) == 11193216);
    CHECK(count_macs(*create_model("resnext_small"), 28, 28) == 12007936);
}

TEST_CASE("create_model overrides num_classes and in_chans", "[models]") {
    Generator gen(0);
    auto model = create_model("resnext_small", {.num_classes = 100, .in_chans = 3}, &gen);
    CHECK(model->config().num_classes == 100);
    CHECK(model->config().in_chans == 3);
    CHECK(model->config().layers == model_info("resnext_small").config.layers);
    NamedTensors sd = model->state_dict();
    CHECK(sd.front().first == "conv1.0.weight");
    CHECK(sd.front().second.shape() == Shape{8, 3, 3, 3});
    CHECK(sd[sd.size() - 2].first == "fc.weight");
    CHECK(sd[sd.size() - 2].second.shape() == Shape{100, 512});
    model->eval();
    CHECK(model->forward(zeros({2, 3, 28, 28})).shape() == Shape{2, 100});

    // One override alone leaves the other field as registered; 0 classes: pooled features.
    auto features = create_model("resnext_small", {.num_classes = 0});
    CHECK(features->config().in_chans == 1);
    features->eval();
    CHECK(features->forward(zeros({1, 1, 28, 28})).shape() == Shape{1, 512});
    CHECK(create_model("resnext_small", ModelOverrides{})->num_parameters() == 255642);
}

TEST_CASE("create_model refuses bad overrides with one clear line", "[models]") {
    CHECK_THROWS_WITH(create_model("resnext_small", {.num_classes = -1}),
                      "create_model resnext_small: num_classes must be >= 0 (0: no classifier), got -1");
    CHECK_THROWS_WITH(create_model("resnext_small", {.in_chans = 0}),
                      "create_model resnext_small: in_chans must be >= 1, got 0");
    CHECK_THROWS_AS(create_model("resnext_small", {.in_chans = -3}), ValueError);
    CHECK_THROWS_AS(create_model("no_such_model", {.num_classes = 10}), ValueError);
}
