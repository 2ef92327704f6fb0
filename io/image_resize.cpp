// PIL's resampling (Resample.c: precompute_coeffs, ImagingResampleHorizontal/Vertical_8bpc) and
// torchvision's / timm's crops, on 8-bit images of 1 or 3 channels.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "io/image.h"
#include "tensor/error.h"

namespace cardinal {

namespace {

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
Image resample_pass(const Image& in, int64_t out_size, bool horizontal,
                    Interpolation interpolation) {
    const int64_t in_size = horizontal ? in.width : in.height;
    const int64_t c = in.channels;
    PassWeights w = pass_weights(in_size, out_size, interpolation);
    Image out;
    out.height = horizontal ? in.height : out_size;
    out.width = horizontal ? out_size : in.width;
    out.channels = c;
    out.pixels.resize(out.height * out.width * c);
    // Distance in bytes between neighbours along the resampled axis.
    const int64_t step = horizontal ? c : in.width * c;
#pragma omp parallel for if (out.height * out.width >= 65536)
    for (int64_t y = 0; y < out.height; ++y) {
        for (int64_t x = 0; x < out.width; ++x) {
            const int64_t o = horizontal ? x : y;
            const int64_t* k = &w.weight[o * w.ksize];
            const uint8_t* src = horizontal ? &in.pixels[(y * in.width + w.first[o]) * c]
                                            : &in.pixels[(w.first[o] * in.width + x) * c];
            for (int64_t ch = 0; ch < c; ++ch) {
                int64_t acc = int64_t{1} << (kPrecisionBits - 1);
                for (int64_t i = 0; i < w.count[o]; ++i) acc += src[i * step + ch] * k[i];
                out.pixels[(y * out.width + x) * c + ch] = clip8(acc);
            }
        }
    }
    return out;
}

void check_image(const Image& image, const char* op) {
    const bool ok =
        image.height > 0 && image.width > 0 && (image.channels == 1 || image.channels == 3) &&
        image.pixels.size() == static_cast<size_t>(image.height * image.width * image.channels);
    check<ValueError>(ok, op, ": invalid image (", image.height, "x", image.width, "x",
                      image.channels, ", ", image.pixels.size(), " bytes)");
}

// torchvision: int(round(d / 2.0)); Python rounds halves to even, as nearbyint does.
int64_t half_offset(int64_t d) { return static_cast<int64_t>(std::nearbyint(d / 2.0)); }

}  // namespace

Interpolation parse_interpolation(const std::string& name) {
    if (name == "bilinear") return Interpolation::Bilinear;
    if (name == "bicubic") return Interpolation::Bicubic;
    fail<ValueError>("interpolation must be bilinear or bicubic, got '", name, "'");
}

const char* interpolation_name(Interpolation interpolation) {
    return interpolation == Interpolation::Bicubic ? "bicubic" : "bilinear";
}

Image resize_image(const Image& image, int64_t height, int64_t width, Interpolation interpolation) {
    check_image(image, "resize_image");
    check<ValueError>(height > 0 && width > 0 && height * width <= kMaxPixels,
                      "resize_image: invalid target size ", height, "x", width);
    // PIL resamples horizontally first, then vertically, rounding to 8 bits in between.
    Image out = width != image.width ? resample_pass(image, width, true, interpolation) : image;
    if (height != image.height) out = resample_pass(out, height, false, interpolation);
    return out;
}

Image resize_shorter_side(const Image& image, int64_t size, Interpolation interpolation) {
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

Image center_crop(const Image& image, int64_t height, int64_t width) {
    check_image(image, "center_crop");
    check<ValueError>(height > 0 && width > 0 && height <= image.height && width <= image.width,
                      "center_crop: cannot crop ", height, "x", width, " from a ", image.height,
                      "x", image.width, " image");
    const int64_t top = half_offset(image.height - height);
    const int64_t left = half_offset(image.width - width);
    const int64_t c = image.channels;
    Image out{height, width, c, std::vector<uint8_t>(height * width * c)};
    for (int64_t y = 0; y < height; ++y) {
        const uint8_t* src = &image.pixels[((top + y) * image.width + left) * c];
        std::memcpy(&out.pixels[y * width * c], src, width * c);
    }
    return out;
}

Image center_crop_or_pad(const Image& image, int64_t height, int64_t width,
                         const std::vector<uint8_t>& fill) {
    check_image(image, "center_crop_or_pad");
    check<ValueError>(height > 0 && width > 0 && height * width <= kMaxPixels,
                      "center_crop_or_pad: invalid window ", height, "x", width);
    check<ValueError>(static_cast<int64_t>(fill.size()) == image.channels,
                      "center_crop_or_pad: ", fill.size(), " fill values for ", image.channels,
                      " channels");
    if (height <= image.height && width <= image.width) return center_crop(image, height, width);
    // Pad (left, top) = d // 2 and (right, bottom) = (d + 1) // 2 where the window is larger.
    const int64_t ph = std::max<int64_t>(0, height - image.height);
    const int64_t pw = std::max<int64_t>(0, width - image.width);
    const int64_t c = image.channels;
    Image padded{image.height + ph, image.width + pw, c, {}};
    padded.pixels.resize(padded.height * padded.width * c);
    for (int64_t i = 0; i < padded.height * padded.width; ++i)
        for (int64_t k = 0; k < c; ++k) padded.pixels[i * c + k] = fill[k];
    for (int64_t y = 0; y < image.height; ++y)
        std::memcpy(&padded.pixels[((y + ph / 2) * padded.width + pw / 2) * c],
                    &image.pixels[y * image.width * c], image.width * c);
    return center_crop(padded, height, width);
}

}  // namespace cardinal
