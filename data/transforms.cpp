#include "data/transforms.h"

#include <cmath>

namespace cardinal {

void TransformOptions::validate(int64_t channels) const {
    const char* op = "transforms";
    check<ValueError>(crop_padding >= 0, op, ": crop padding must be >= 0, got ", crop_padding);
    check<ValueError>(hflip_p >= 0 && hflip_p <= 1, op,
                      ": flip probability must be in [0, 1], got ", hflip_p);
    check<ValueError>(erase_p >= 0 && erase_p <= 1, op,
                      ": erasing probability must be in [0, 1], got ", erase_p);
    check<ValueError>(mean.size() == std.size(), op, ": ", mean.size(), " means but ", std.size(),
                      " stds");
    check<ValueError>(mean.empty() || mean.size() == 1 || int64_t(mean.size()) == channels, op,
                      ": mean/std need 1 or ", channels, " values, got ", mean.size());
    for (double s : std) check<ValueError>(s > 0, op, ": std must be > 0, got ", s);
    check<ValueError>(
        erase_scale_min > 0 && erase_scale_min <= erase_scale_max && erase_scale_max <= 1, op,
        ": erasing scale must satisfy 0 < min <= max <= 1, got (", erase_scale_min, ", ",
        erase_scale_max, ")");
    check<ValueError>(erase_ratio_min > 0 && erase_ratio_min <= erase_ratio_max, op,
                      ": erasing ratio must satisfy 0 < min <= max, got (", erase_ratio_min, ", ",
                      erase_ratio_max, ")");
}

void crop_with_padding(const uint8_t* src, int64_t channels, int64_t height, int64_t width,
                       int64_t pad, int64_t top, int64_t left, double pad_value, float* out) {
    const float fill = static_cast<float>(pad_value);
    for (int64_t c = 0; c < channels; ++c) {
        const uint8_t* plane = src + c * height * width;
        for (int64_t y = 0; y < height; ++y) {
            const int64_t sy = y + top - pad;
            float* row = out + (c * height + y) * width;
            for (int64_t x = 0; x < width; ++x) {
                const int64_t sx = x + left - pad;
                const bool inside = sy >= 0 && sy < height && sx >= 0 && sx < width;
                row[x] = inside ? static_cast<float>(plane[sy * width + sx]) : fill;
            }
        }
    }
}

void transform_image(const uint8_t* src, int64_t channels, int64_t height, int64_t width,
                     const TransformOptions& o, const Generator& gen, uint64_t counter,
                     float* out) {
    // Counter layout: +0 crop top, +1 crop left, +2 flip, +3 erase, +4.. erase attempts (4 each).
    const int64_t pad = o.random_crop ? o.crop_padding : 0;
    const uint64_t span = static_cast<uint64_t>(2 * pad + 1);
    const int64_t top = o.random_crop ? static_cast<int64_t>(gen.bits(counter) % span) : 0;
    const int64_t left = o.random_crop ? static_cast<int64_t>(gen.bits(counter + 1) % span) : 0;
    crop_with_padding(src, channels, height, width, pad, top, left, o.pad_value, out);

    if (o.hflip_p > 0 && gen.uniform01(counter + 2) < o.hflip_p) {
        for (int64_t r = 0; r < channels * height; ++r) {
            float* row = out + r * width;
            for (int64_t x = 0; x < width / 2; ++x) std::swap(row[x], row[width - 1 - x]);
        }
    }

    const int64_t plane = height * width;
    for (int64_t c = 0; c < channels; ++c) {
        const size_t k = o.mean.size() == 1 ? 0 : static_cast<size_t>(c);
        const float inv =
            o.std.empty() ? 1.0f / 255.0f : static_cast<float>(1.0 / (255.0 * o.std[k]));
        const float shift = o.std.empty() ? 0.0f : static_cast<float>(o.mean[k] / o.std[k]);
        float* p = out + c * plane;
        // (v/255 - mean)/std written as v * (1/(255 std)) - mean/std: one FMA per pixel.
#pragma omp simd
        for (int64_t i = 0; i < plane; ++i) p[i] = p[i] * inv - shift;
    }

    if (o.erase_p > 0 && gen.uniform01(counter + 3) < o.erase_p) {
        const double area = static_cast<double>(plane);
        const double log_lo = std::log(o.erase_ratio_min), log_hi = std::log(o.erase_ratio_max);
        for (int attempt = 0; attempt < 10; ++attempt) {
            const uint64_t c0 = counter + 4 + 4 * attempt;
            const double target =
                area *
                (o.erase_scale_min + (o.erase_scale_max - o.erase_scale_min) * gen.uniform01(c0));
            const double aspect = std::exp(log_lo + (log_hi - log_lo) * gen.uniform01(c0 + 1));
            const int64_t h = static_cast<int64_t>(std::nearbyint(std::sqrt(target * aspect)));
            const int64_t w = static_cast<int64_t>(std::nearbyint(std::sqrt(target / aspect)));
            if (!(h < height && w < width)) continue;
            const int64_t i0 = static_cast<int64_t>(gen.bits(c0 + 2) % uint64_t(height - h + 1));
            const int64_t j0 = static_cast<int64_t>(gen.bits(c0 + 3) % uint64_t(width - w + 1));
            const float v = static_cast<float>(o.erase_value);
            for (int64_t c = 0; c < channels; ++c)
                for (int64_t y = i0; y < i0 + h; ++y)
                    for (int64_t x = j0; x < j0 + w; ++x) out[c * plane + y * width + x] = v;
            break;
        }
    }
}

}  // namespace cardinal
