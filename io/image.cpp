#include "io/image.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "tensor/error.h"

// stb_image is compiled into this file only, with internal linkage, so it can never clash with
// another copy (Debian's libstb, or one a user links in).
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO  // we read files ourselves, to report errors with errno text
// Images claiming more than this per side are refused before stb allocates their pixels.
#define STBI_MAX_DIMENSIONS (1 << 15)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

namespace cardinal {

namespace {

// A decoded RGB image of this many pixels takes 192 MB; bigger ones are not classifier inputs.
constexpr int64_t kMaxPixels = int64_t{1} << 26;

// PIL's fixed-point resampling keeps 22 fraction bits (32 bits - 8 for the pixel - 2 spare).
constexpr int kPrecisionBits = 22;

double bicubic(double x) {
    // Keys' cubic with a = -0.5 (PIL, and torchvision's PIL path).
    constexpr double a = -0.5;
    x = std::fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

double triangle(double x) {
    x = std::fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

// Weights of one resampling pass along one axis: output o reads inputs first[o] ..
// first[o] + count[o] - 1 with fixed-point weights weight[o * ksize + i].
struct PassWeights {
    int64_t ksize = 0;
    std::vector<int64_t> first, count;
    std::vector<int64_t> weight;
};

// As PIL's precompute_coeffs: when shrinking, the filter widens by the scale factor, which
// averages over every input pixel the output covers (antialiasing).
PassWeights pass_weights(int64_t in_size, int64_t out_size, Interpolation interpolation) {
    const double support_unit = interpolation == Interpolation::Bicubic ? 2.0 : 1.0;
    double (*filter)(double) = interpolation == Interpolation::Bicubic ? bicubic : triangle;
    const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
    const double filter_scale = std::max(scale, 1.0);
    const double support = support_unit * filter_scale;
    PassWeights w;
    w.ksize = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
    w.first.resize(out_size);
    w.count.resize(out_size);
    w.weight.assign(out_size * w.ksize, 0);
    std::vector<double> k(w.ksize);
    for (int64_t o = 0; o < out_size; ++o) {
        const double center = (o + 0.5) * scale;
        int64_t lo = std::max<int64_t>(0, static_cast<int64_t>(center - support + 0.5));
        int64_t hi = std::min<int64_t>(in_size, static_cast<int64_t>(center + support + 0.5));
        int64_t n = hi - lo;
        double total = 0.0;
        for (int64_t i = 0; i < n; ++i) {
            k[i] = filter((i + lo - center + 0.5) / filter_scale);
            total += k[i];
        }
        for (int64_t i = 0; i < n; ++i) {
            double v = total != 0.0 ? k[i] / total : k[i];
            double fixed = v * static_cast<double>(int64_t{1} << kPrecisionBits);
            w.weight[o * w.ksize + i] = static_cast<int64_t>(v < 0 ? fixed - 0.5 : fixed + 0.5);
        }
        w.first[o] = lo;
        w.count[o] = n;
    }
    return w;
}

uint8_t clip8(int64_t acc) {
    int64_t v = acc >> kPrecisionBits;  // floor; the accumulator started at +0.5 for rounding
    return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// Resamples along x (horizontal) or y (vertical); each output channel is rounded to 8 bits.
RgbImage resample_pass(const RgbImage& in, int64_t out_size, bool horizontal,
                       Interpolation interpolation) {
    const int64_t in_size = horizontal ? in.width : in.height;
    PassWeights w = pass_weights(in_size, out_size, interpolation);
    RgbImage out;
    out.height = horizontal ? in.height : out_size;
    out.width = horizontal ? out_size : in.width;
    out.pixels.resize(out.height * out.width * 3);
    // Distance in bytes between neighbours along the resampled axis.
    const int64_t step = horizontal ? 3 : in.width * 3;
#pragma omp parallel for if (out.height * out.width >= 65536)
    for (int64_t y = 0; y < out.height; ++y) {
        for (int64_t x = 0; x < out.width; ++x) {
            const int64_t o = horizontal ? x : y;
            const int64_t* k = &w.weight[o * w.ksize];
            const uint8_t* src = horizontal ? &in.pixels[(y * in.width + w.first[o]) * 3]
                                            : &in.pixels[(w.first[o] * in.width + x) * 3];
            for (int64_t c = 0; c < 3; ++c) {
                int64_t acc = int64_t{1} << (kPrecisionBits - 1);
                for (int64_t i = 0; i < w.count[o]; ++i) acc += src[i * step + c] * k[i];
                out.pixels[(y * out.width + x) * 3 + c] = clip8(acc);
            }
        }
    }
    return out;
}

void check_image(const RgbImage& image, const char* op) {
    const auto expected_bytes = static_cast<size_t>(image.height * image.width * 3);
    check<ValueError>(image.height > 0 && image.width > 0 && image.pixels.size() == expected_bytes,
                      op, ": invalid image (", image.height, "x", image.width, ", ",
                      image.pixels.size(), " bytes)");
}

}  // namespace

RgbImage decode_rgb_image(const uint8_t* data, size_t size, const std::string& name) {
    check<FormatError>(size > 0, "image '", name, "': file is empty");
    check<FormatError>(size <= static_cast<size_t>(INT_MAX), "image '", name, "': file of ", size,
                       " bytes is too large to decode");
    const int len = static_cast<int>(size);
    int w = 0, h = 0, channels = 0;
    if (!stbi_info_from_memory(data, len, &w, &h, &channels))
        fail<FormatError>("image '", name, "': not a readable PNG/JPEG/BMP/GIF/TGA/PNM image (",
                          stbi_failure_reason(), ")");
    check<FormatError>(int64_t{w} * h <= kMaxPixels, "image '", name, "': ", w, "x", h,
                       " exceeds the limit of ", kMaxPixels, " pixels");
    std::unique_ptr<uint8_t, void (*)(void*)> pixels(
        stbi_load_from_memory(data, len, &w, &h, &channels, 3), stbi_image_free);
    if (!pixels)
        fail<FormatError>("image '", name, "': cannot decode (", stbi_failure_reason(), ")");
    RgbImage out;
    out.height = h;
    out.width = w;
    out.pixels.assign(pixels.get(), pixels.get() + int64_t{w} * h * 3);
    return out;
}

RgbImage read_rgb_image(const std::string& path) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
    if (!f) fail<FormatError>("image '", path, "': cannot open: ", std::strerror(errno));
    std::vector<uint8_t> bytes;
    uint8_t buffer[1 << 16];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f.get())) > 0) {
        bytes.insert(bytes.end(), buffer, buffer + n);
        check<FormatError>(bytes.size() <= static_cast<size_t>(INT_MAX), "image '", path,
                           "': file is too large to decode");
    }
    if (std::ferror(f.get()))
        fail<FormatError>("image '", path, "': read failed: ", std::strerror(errno));
    return decode_rgb_image(bytes.data(), bytes.size(), path);
}

Tensor image_to_tensor(const RgbImage& image) {
    check_image(image, "image_to_tensor");
    const int64_t plane = image.height * image.width;
    Tensor t = empty({3, image.height, image.width});
    float* dst = t.data<float>();
    for (int64_t c = 0; c < 3; ++c) {
        for (int64_t i = 0; i < plane; ++i)
            dst[c * plane + i] = static_cast<float>(image.pixels[i * 3 + c]) / 255.0f;
    }
    return t;
}

Tensor load_image(const std::string& path) { return image_to_tensor(read_rgb_image(path)); }

RgbImage resize_image(const RgbImage& image, int64_t height, int64_t width,
                      Interpolation interpolation) {
    check_image(image, "resize_image");
    check<ValueError>(height > 0 && width > 0 && height * width <= kMaxPixels,
                      "resize_image: invalid target size ", height, "x", width);
    // PIL resamples horizontally first, then vertically, rounding to 8 bits in between.
    RgbImage out = width != image.width ? resample_pass(image, width, true, interpolation) : image;
    if (height != image.height) out = resample_pass(out, height, false, interpolation);
    return out;
}

RgbImage resize_shorter_side(const RgbImage& image, int64_t size, Interpolation interpolation) {
    check_image(image, "resize_shorter_side");
    check<ValueError>(size > 0, "resize_shorter_side: size must be positive, got ", size);
    const bool wide = image.width > image.height;
    const int64_t shorter = wide ? image.height : image.width;
    const int64_t longer = wide ? image.width : image.height;
    if (shorter == size) return image;
    // torchvision: int(size * long / short), a float division truncated.
    const int64_t new_longer =
        static_cast<int64_t>(static_cast<double>(size * longer) / static_cast<double>(shorter));
    return wide ? resize_image(image, size, new_longer, interpolation)
                : resize_image(image, new_longer, size, interpolation);
}

RgbImage center_crop(const RgbImage& image, int64_t height, int64_t width) {
    check_image(image, "center_crop");
    check<ValueError>(height > 0 && width > 0 && height <= image.height && width <= image.width,
                      "center_crop: cannot crop ", height, "x", width, " from a ", image.height,
                      "x", image.width, " image");
    // torchvision: int(round((H - h) / 2.0)); Python rounds halves to even, as nearbyint does.
    const int64_t top = static_cast<int64_t>(std::nearbyint((image.height - height) / 2.0));
    const int64_t left = static_cast<int64_t>(std::nearbyint((image.width - width) / 2.0));
    RgbImage out;
    out.height = height;
    out.width = width;
    out.pixels.resize(height * width * 3);
    for (int64_t y = 0; y < height; ++y) {
        const uint8_t* src = &image.pixels[((top + y) * image.width + left) * 3];
        std::memcpy(&out.pixels[y * width * 3], src, width * 3);
    }
    return out;
}

Tensor preprocess_eval(const RgbImage& image, const EvalTransform& transform) {
    check<ValueError>(transform.crop_size > 0 && transform.crop_pct > 0.0 &&
                          transform.crop_pct <= 1.0,
                      "preprocess_eval: need crop_size > 0 and crop_pct in (0, 1], got ",
                      transform.crop_size, " and ", transform.crop_pct);
    for (int c = 0; c < 3; ++c)
        check<ValueError>(transform.std[c] > 0.0f, "preprocess_eval: std must be positive");
    const auto scale = static_cast<int64_t>(
        std::floor(static_cast<double>(transform.crop_size) / transform.crop_pct));
    RgbImage resized = resize_shorter_side(image, scale, transform.interpolation);
    RgbImage crop = center_crop(resized, transform.crop_size, transform.crop_size);
    Tensor t = image_to_tensor(crop);
    float* p = t.data<float>();
    const int64_t plane = transform.crop_size * transform.crop_size;
    for (int64_t c = 0; c < 3; ++c) {
        for (int64_t i = 0; i < plane; ++i)
            p[c * plane + i] = (p[c * plane + i] - transform.mean[c]) / transform.std[c];
    }
    return t.view({1, 3, transform.crop_size, transform.crop_size});
}

Tensor load_image_for_eval(const std::string& path, const EvalTransform& transform) {
    return preprocess_eval(read_rgb_image(path), transform);
}

}  // namespace cardinal
