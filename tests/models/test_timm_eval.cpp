// timm's published eval configs give timm's preprocessing: for every tag in
// models/data/pretrained_cfgs.json our table matches the fixture index, and for every
// architecture's default tag the preprocessed tensor of seven images (odd sizes; RGB, RGBA,
// grey, grey+alpha and palette PNGs; a progressive JPEG; a JPEG whose EXIF orientation is not
// applied) equals PIL + torchvision's pixels with ToTensor + Normalize (tests/data/timm_eval,
// written by tests/data/make_timm_eval_fixtures.py).
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "io/eval_transform.h"
#include "io/image.h"
#include "io/safetensors.h"
#include "models/pretrained.h"
#include "models/resnet_config.h"
#include "tensor/error.h"

using namespace cardinal;

namespace {

const std::string kDir = std::string(CARDINAL_TEST_DATA) + "/timm_eval/";

nlohmann::json read_index() {
    std::ifstream f(kDir + "index.json");
    REQUIRE(f.good());
    return nlohmann::json::parse(f);
}

// torchvision's ToTensor + Normalize of an 8-bit crop, in float32.
Tensor normalize(const Image& crop, const std::vector<double>& mean,
                 const std::vector<double>& std) {
    Tensor t = image_to_tensor(crop);
    float* p = t.data<float>();
    const int64_t plane = crop.height * crop.width;
    for (int64_t c = 0; c < crop.channels; ++c)
        for (int64_t i = 0; i < plane; ++i)
            p[c * plane + i] =
                (p[c * plane + i] - static_cast<float>(mean[c])) / static_cast<float>(std[c]);
    return t.view({1, crop.channels, crop.height, crop.width});
}

std::string stem(const std::string& file) { return file.substr(0, file.rfind('.')); }

}  // namespace

TEST_CASE("timm eval: every tag's config is timm's pretrained_cfg", "[timm_eval]") {
    const nlohmann::json index = read_index();
    std::set<std::string> defaults;
    for (const auto& [name, want] : index["tags"].items()) {
        INFO(name);
        const ModelName m = resolve_model_name(name);
        REQUIRE(m.pretrained != nullptr);
        CHECK(m.pretrained->name() == name);
        const EvalTransform t = m.pretrained->eval_transform();
        CHECK(t.crop_size == want["input_size"][1].get<int64_t>());
        CHECK(t.crop_pct == want["crop_pct"].get<double>());
        CHECK(interpolation_name(t.interpolation) == want["interpolation"].get<std::string>());
        CHECK(crop_mode_name(t.crop_mode) == want["crop_mode"].get<std::string>());
        CHECK(t.mean == want["mean"].get<std::vector<double>>());
        CHECK(t.std == want["std"].get<std::vector<double>>());
        CHECK(m.pretrained->num_classes == want["num_classes"].get<int64_t>());
        if (want["default"].get<bool>()) {
            defaults.insert(name);
            // The bare architecture name means the default tag.
            CHECK(resolve_model_name(m.architecture).pretrained == m.pretrained);
        }
    }
    // All 17 architectures with a tag, i.e. every registered model but the four small ones.
    CHECK(defaults.size() == 17);
    for (const std::string& arch : model_names())
        CHECK(pretrained_tags(arch).empty() == (model_info(arch).config.stem_stride == 1));
    CHECK_THROWS_WITH(resolve_model_name("resnest50d.no_such_tag"),
                      Catch::Contains("resnest50d.in1k") && Catch::Contains("no_such_tag"));
    CHECK_THROWS_WITH(resolve_model_name("resnet9000.in1k"), Catch::Contains("unknown model"));
}

TEST_CASE("timm eval: the test size is the tag's test_input_size and test_crop_pct",
          "[timm_eval]") {
    const PretrainedCfg& a1h = *resolve_model_name("resnext50_32x4d.a1h_in1k").pretrained;
    CHECK(a1h.eval_transform(true).crop_size == 288);
    CHECK(a1h.eval_transform(true).crop_pct == 1.0);
    CHECK(a1h.eval_transform(false).crop_size == 224);
    CHECK(a1h.eval_transform(false).crop_pct == 0.95);
    // Without test values the train size stays.
    const PretrainedCfg& r50 = *resolve_model_name("resnest50d").pretrained;
    CHECK(r50.eval_transform(true).crop_size == 224);
    CHECK(r50.eval_transform(true).crop_pct == 0.875);
    CHECK(r50.eval_transform(true).interpolation == Interpolation::Bilinear);
}

TEST_CASE("timm eval: every default tag preprocesses seven images as PIL + timm", "[timm_eval]") {
    const nlohmann::json index = read_index();
    const auto images = index["images"].get<std::vector<std::string>>();
    REQUIRE(images.size() == 7);
    int64_t compared = 0;
    for (const auto& [name, want] : index["tags"].items()) {
        if (!want["default"].get<bool>()) continue;
        const EvalTransform t = resolve_model_name(name).pretrained->eval_transform();
        for (const std::string& file : images) {
            INFO(name << " on " << file);
            Tensor got = load_image_for_eval(kDir + "src/" + file, t);
            const Image crop = read_image(kDir + "crops/" + want["key"].get<std::string>() + "/" +
                                          stem(file) + ".png");
            Tensor ref = normalize(crop, t.mean, t.std);
            REQUIRE(got.shape() == ref.shape());
            CHECK(max_abs_diff(got, ref) <= 1e-6);  // the same float32 arithmetic: in fact 0
            ++compared;
        }
    }
    CHECK(compared == 17 * 7);
}

TEST_CASE("timm eval: ToTensor + Normalize and the squash / border crop modes match torchvision",
          "[timm_eval]") {
    SafetensorsFile f = load_safetensors(kDir + "normalize.safetensors");
    const nlohmann::json cases = nlohmann::json::parse(f.metadata.at("cases"));
    std::set<std::string> modes;
    for (const auto& [name, want] : f.tensors) {
        const size_t slash = name.find('/');
        const nlohmann::json& c = cases.at(std::stoul(name.substr(0, slash)));
        INFO(name << " " << c.dump());
        EvalTransform t;
        t.crop_size = c["size"].get<int64_t>();
        t.crop_pct = c["crop_pct"].get<double>();
        t.interpolation = parse_interpolation(c["interpolation"].get<std::string>());
        t.crop_mode = parse_crop_mode(c["crop_mode"].get<std::string>());
        t.mean = c["mean"].get<std::vector<double>>();
        t.std = c["std"].get<std::vector<double>>();
        const ColorMode mode = c["color"] == "L" ? ColorMode::Grey : ColorMode::Rgb;
        Tensor got = load_image_for_eval(kDir + "src/" + name.substr(slash + 1), t, mode);
        REQUIRE(got.shape() == want.shape());
        CHECK(max_abs_diff(got, want) <= 1e-6);
        modes.insert(c["crop_mode"].get<std::string>() + "/" + c["color"].get<std::string>());
    }
    CHECK(modes.size() == 6);  // center, squash, border; RGB and L
}

TEST_CASE("timm eval: EXIF orientation is not applied, as in PIL's Image.open", "[timm_eval]") {
    // exif_rotate.jpg is stored 257 wide, 193 high, with Orientation 6 (display rotated).
    const Image img = read_image(kDir + "src/exif_rotate.jpg");
    CHECK(img.width == 257);
    CHECK(img.height == 193);
}

TEST_CASE("timm eval: bad transform values are refused with the field named", "[timm_eval]") {
    const Image img = read_image(kDir + "src/odd_rgb.png");
    EvalTransform t;
    t.crop_pct = 0;
    CHECK_THROWS_WITH(preprocess_eval(img, t), Catch::Contains("crop_pct"));
    t = EvalTransform{};
    t.mean = {0.5};
    CHECK_THROWS_WITH(preprocess_eval(img, t), Catch::Contains("3 values"));
    t = EvalTransform{};
    t.std = {0.2, 0.0, 0.2};
    CHECK_THROWS_WITH(preprocess_eval(img, t), Catch::Contains("std must be positive"));
    CHECK_THROWS_WITH(parse_crop_mode("zoom"), Catch::Contains("center, squash or border"));
    CHECK_THROWS_WITH(parse_interpolation("lanczos"), Catch::Contains("bilinear or bicubic"));
}
