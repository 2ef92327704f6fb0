// Per-image transforms the loader applies, in this order (torchvision's order for the recipe):
//   1. random crop with zero-or-constant padding (pad value in raw pixel units 0..255, i.e.
//      before normalization); the output keeps the input size, offsets uniform in [0, 2*pad]
//   2. horizontal flip with probability hflip_p
//   3. normalize: (pixel/255 - mean[c]) / std[c]  (mean/std empty: pixel/255)
//   4. random erasing (torchvision RandomErasing: probability erase_p, area fraction uniform in
//      erase_scale, log aspect ratio uniform in log(erase_ratio), up to 10 attempts, filled
//      with erase_value in normalized units)
// Randomness comes from counters [counter, counter + kTransformCounters) of a Generator, so
// an image's augmentation is a pure function of (generator seed, counter).
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/random.h"

namespace cardinal {

struct TransformOptions {
    bool random_crop = false;
    int64_t crop_padding = 0;
    double pad_value = 0.0;
    double hflip_p = 0.0;
    std::vector<double> mean;  // one value, or one per channel
    std::vector<double> std;
    double erase_p = 0.0;
    double erase_scale_min = 0.02, erase_scale_max = 0.33;
    double erase_ratio_min = 0.3, erase_ratio_max = 3.3;
    double erase_value = 0.0;

    // ValueError for probabilities outside [0, 1], std <= 0, a mean/std count other than 1 or
    // `channels`, negative padding or empty ranges.
    void validate(int64_t channels) const;
};

constexpr uint64_t kTransformCounters = 64;

// Copies the H x W window at (top, left) of src zero-or-constant-padded by `pad` on each side:
// out[c][y][x] = src[c][y + top - pad][x + left - pad], or pad_value outside src.
void crop_with_padding(const uint8_t* src, int64_t channels, int64_t height, int64_t width,
                       int64_t pad, int64_t top, int64_t left, double pad_value, float* out);

// Writes the transformed image (float32, C x H x W) to out.
void transform_image(const uint8_t* src, int64_t channels, int64_t height, int64_t width,
                     const TransformOptions& options, const Generator& gen, uint64_t counter,
                     float* out);

}  // namespace cardinal
