// Image decoding and timm's eval preprocessing, compared with PIL's outputs byte for byte.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "io/eval_transform.h"
#include "io/image.h"
#include "io/safetensors.h"
#include "tensor/error.h"
#include "tests/io/io_test_util.h"

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

using namespace cardinal;
using cardinal::test::TempDir;

namespace {

const std::string kData = CARDINAL_TEST_DATA;

void append_to_string(void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), size);
}

// Encodes interleaved 8-bit pixels with `channels` channels (1 gray, 2 gray+alpha, 3, 4).
std::string encode_png(const std::vector<uint8_t>& pixels, int height, int width, int channels) {
    std::string out;
    REQUIRE(stbi_write_png_to_func(append_to_string, &out, width, height, channels, pixels.data(),
                                   width * channels));
    return out;
}

// The procedural pattern of tests/data/make_image_fixtures.py.
Image pattern(int64_t height, int64_t width) {
    Image img{height, width, 3, std::vector<uint8_t>(height * width * 3)};
    for (int64_t y = 0; y < height; ++y)
        for (int64_t x = 0; x < width; ++x)
            for (int64_t c = 0; c < 3; ++c)
                img.pixels[(y * width + x) * 3 + c] =
                    static_cast<uint8_t>((x * 7 + y * 13 + c * 50 + (x * y) % 17) % 256);
    return img;
}

// Number of bytes that differ (images must have equal sizes).
int64_t mismatches(const Image& a, const Image& b) {
    REQUIRE(a.height == b.height);
    REQUIRE(a.width == b.width);
    int64_t n = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i) n += a.pixels[i] != b.pixels[i];
    return n;
}

}  // namespace

TEST_CASE("image: PNG decodes to float32 [3, H, W] in [0, 1]") {
    TempDir dir;
    Image src = pattern(5, 7);
    const std::string path = dir.file("rgb.png");
    test::write_bytes(path, encode_png(src.pixels, 5, 7, 3));
    Tensor t = load_image(path);
    REQUIRE(t.dtype() == DType::Float32);
    REQUIRE(t.shape() == Shape{3, 5, 7});
    for (int64_t c = 0; c < 3; ++c)
        for (int64_t y = 0; y < 5; ++y)
            for (int64_t x = 0; x < 7; ++x)
                REQUIRE(t.at({c, y, x}) ==
                        static_cast<float>(src.pixels[(y * 7 + x) * 3 + c]) / 255.0f);
}

TEST_CASE("image: grayscale is replicated to RGB and alpha is dropped") {
    std::vector<uint8_t> gray = {0, 64, 128, 255, 7, 9};  // 2 x 3
    std::string png = encode_png(gray, 2, 3, 1);
    Image g = decode_image(reinterpret_cast<const uint8_t*>(png.data()), png.size(), "g");
    REQUIRE(g.height == 2);
    REQUIRE(g.width == 3);
    for (int i = 0; i < 6; ++i)
        for (int c = 0; c < 3; ++c) CHECK(g.pixels[i * 3 + c] == gray[i]);

    std::vector<uint8_t> gray_alpha = {10, 0, 20, 255};  // 1 x 2, alpha 0 and 255
    png = encode_png(gray_alpha, 1, 2, 2);
    Image ga = decode_image(reinterpret_cast<const uint8_t*>(png.data()), png.size(), "ga");
    CHECK(ga.pixels == std::vector<uint8_t>{10, 10, 10, 20, 20, 20});

    std::vector<uint8_t> rgba = {1, 2, 3, 0, 4, 5, 6, 128};  // 1 x 2
    png = encode_png(rgba, 1, 2, 4);
    Image c = decode_image(reinterpret_cast<const uint8_t*>(png.data()), png.size(), "c");
    CHECK(c.pixels == std::vector<uint8_t>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("image: JPEG decodes close to its source") {
    TempDir dir;
    const int h = 16, w = 16;
    std::vector<uint8_t> flat(h * w * 3);
    for (int i = 0; i < h * w; ++i) {
        flat[i * 3] = 200;
        flat[i * 3 + 1] = 100;
        flat[i * 3 + 2] = 50;
    }
    std::string jpg;
    REQUIRE(stbi_write_jpg_to_func(append_to_string, &jpg, w, h, 3, flat.data(), 100));
    const std::string path = dir.file("flat.jpg");
    test::write_bytes(path, jpg);
    Tensor t = load_image(path);
    REQUIRE(t.shape() == Shape{3, 16, 16});
    CHECK(std::fabs(t.at({0, 8, 8}) - 200 / 255.0) < 3 / 255.0);
    CHECK(std::fabs(t.at({1, 3, 12}) - 100 / 255.0) < 3 / 255.0);
    CHECK(std::fabs(t.at({2, 15, 0}) - 50 / 255.0) < 3 / 255.0);
}

TEST_CASE("image: unreadable and corrupt files give a FormatError naming the file") {
    TempDir dir;
    CHECK_THROWS_WITH(load_image(dir.file("missing.png")),
                      Catch::Contains("missing.png") && Catch::Contains("cannot open"));
    test::write_bytes(dir.file("empty.png"), "");
    CHECK_THROWS_WITH(load_image(dir.file("empty.png")), Catch::Contains("empty"));
    test::write_bytes(dir.file("text.png"), "this is not an image at all");
    CHECK_THROWS_WITH(load_image(dir.file("text.png")),
                      Catch::Contains("text.png") && Catch::Contains("not a readable"));
    // A PNG cut in the middle of its pixel data.
    std::string png = encode_png(pattern(32, 32).pixels, 32, 32, 3);
    test::write_bytes(dir.file("cut.png"), png.substr(0, png.size() / 2));
    CHECK_THROWS_AS(load_image(dir.file("cut.png")), FormatError);
    CHECK_THROWS_AS(load_image(dir.path().string()), FormatError);  // a directory
}

TEST_CASE("image: resize matches PIL bicubic and bilinear byte for byte") {
    Image src = pattern(23, 37);
    SECTION("bicubic, shrinking (antialiased)") {
        Image want = read_image(kData + "/pil_bicubic_20x32.png");
        CHECK(mismatches(resize_image(src, 20, 32, Interpolation::Bicubic), want) == 0);
        // Resize(20) of a 23 x 37 image: the shorter side becomes 20, the longer int(20*37/23).
        CHECK(mismatches(resize_shorter_side(src, 20), want) == 0);
    }
    SECTION("bilinear, shrinking") {
        Image want = read_image(kData + "/pil_bilinear_20x32.png");
        CHECK(mismatches(resize_image(src, 20, 32, Interpolation::Bilinear), want) == 0);
    }
    SECTION("bicubic, enlarging") {
        Image want = read_image(kData + "/pil_bicubic_41x50.png");
        CHECK(mismatches(resize_image(src, 41, 50, Interpolation::Bicubic), want) == 0);
    }
}

TEST_CASE("image: preprocess_eval matches the PIL + NumPy pipeline") {
    EvalTransform transform;
    transform.crop_size = 32;  // Resize(floor(32 / 0.875) = 36), CenterCrop(32)
    Tensor got = preprocess_eval(pattern(29, 43), transform);
    Tensor want = load_safetensors(kData + "/pil_eval_32.safetensors").get("eval");
    REQUIRE(got.shape() == Shape{1, 3, 32, 32});
    CHECK(max_abs_diff(got, want) <= 1e-6);
}

TEST_CASE("image: preprocess_eval at 224 on a flat image gives the normalized color") {
    const int64_t h = 200, w = 300;
    Image flat{h, w, 3, std::vector<uint8_t>(h * w * 3)};
    for (int64_t i = 0; i < h * w; ++i) {
        flat.pixels[i * 3] = 255;
        flat.pixels[i * 3 + 1] = 128;
        flat.pixels[i * 3 + 2] = 0;
    }
    Tensor t = preprocess_eval(flat);
    REQUIRE(t.shape() == Shape{1, 3, 224, 224});
    REQUIRE(t.dtype() == DType::Float32);
    const float want[3] = {(1.0f - 0.485f) / 0.229f, (128 / 255.0f - 0.456f) / 0.224f,
                           (0.0f - 0.406f) / 0.225f};
    for (int64_t c = 0; c < 3; ++c) {
        CHECK(t.at({0, c, 0, 0}) == want[c]);
        CHECK(t.at({0, c, 223, 223}) == want[c]);
        CHECK(t.at({0, c, 100, 37}) == want[c]);
    }
}

TEST_CASE("image: center_crop rounds the offset half to even, as torchvision") {
    Image src = pattern(6, 9);
    // (9 - 4) / 2 = 2.5 -> 2, (6 - 3) / 2 = 1.5 -> 2.
    Image crop = center_crop(src, 3, 4);
    REQUIRE(crop.height == 3);
    REQUIRE(crop.width == 4);
    for (int64_t y = 0; y < 3; ++y)
        for (int64_t x = 0; x < 4; ++x)
            for (int64_t c = 0; c < 3; ++c)
                CHECK(crop.pixels[(y * 4 + x) * 3 + c] ==
                      src.pixels[((y + 2) * 9 + (x + 2)) * 3 + c]);
    CHECK_THROWS_AS(center_crop(src, 7, 4), ValueError);
    EvalTransform bad;
    bad.crop_pct = 1.5;
    CHECK_THROWS_AS(preprocess_eval(src, bad), ValueError);
}

TEST_CASE("image: a JPEG cut short is refused, as PIL refuses it", "[image]") {
    TempDir dir;
    const std::string jpg = test::read_bytes(kData + "/timm_eval/src/progressive.jpg");
    REQUIRE(jpg.size() > 1000);
    test::write_bytes(dir.file("cut.jpg"), jpg.substr(0, jpg.size() / 2));
    CHECK_THROWS_WITH(read_image(dir.file("cut.jpg")),
                      Catch::Contains("cut.jpg") && Catch::Contains("cannot decode JPEG"));
    test::write_bytes(dir.file("header.jpg"), jpg.substr(0, 40));
    CHECK_THROWS_AS(read_image(dir.file("header.jpg")), FormatError);
    // The whole file decodes, at its stored size, to grey on request (PIL's convert("L")).
    const Image grey = read_image(kData + "/timm_eval/src/progressive.jpg", ColorMode::Grey);
    CHECK(grey.channels == 1);
    CHECK(grey.width == 300);
    CHECK(grey.height == 229);
}
