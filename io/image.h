// Image decoding (PNG, JPEG, BMP, GIF, ... via stb_image) and timm's evaluation preprocessing.
//
// Every image becomes 8-bit RGB: grayscale is replicated to three channels and an alpha
// channel is dropped (as PIL's convert("RGB"), which timm applies). 16-bit PNGs are reduced to
// 8 bits.
//
// Evaluation preprocessing follows timm's transforms_imagenet_eval with torchvision's PIL path:
//   scale = floor(crop_size / crop_pct)
//   Resize(scale): the shorter side becomes `scale`, the longer int(scale * long / short);
//                  PIL-style separable resampling (bicubic a = -0.5 by default, or bilinear),
//                  antialiased when shrinking, horizontal pass then vertical, each pass rounded
//                  to 8 bits in fixed point as PIL does
//   CenterCrop(crop_size): top = round((H - crop) / 2) with round-half-to-even as Python's
//   ToTensor + Normalize: (u8 / 255 - mean) / std in float32
// giving a float32 [1, 3, crop_size, crop_size] batch.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace cardinal {

// 8-bit RGB pixels, row-major, interleaved: pixels[(y * width + x) * 3 + c].
struct RgbImage {
    int64_t height = 0;
    int64_t width = 0;
    std::vector<uint8_t> pixels;
};

enum class Interpolation { Bilinear, Bicubic };

// Decodes a file / an in-memory encoded image. `name` appears in error messages.
// A missing, unreadable or corrupt image is a FormatError naming it and stb's reason.
RgbImage read_rgb_image(const std::string& path);
RgbImage decode_rgb_image(const uint8_t* data, size_t size, const std::string& name);

// float32 [3, H, W] with values u8 / 255 in [0, 1].
Tensor image_to_tensor(const RgbImage& image);
// read_rgb_image + image_to_tensor.
Tensor load_image(const std::string& path);

// Resamples to (height, width) as PIL's Image.resize does.
RgbImage resize_image(const RgbImage& image, int64_t height, int64_t width,
                      Interpolation interpolation = Interpolation::Bicubic);
// Resizes so that the shorter side is `size` (torchvision Resize(int)).
RgbImage resize_shorter_side(const RgbImage& image, int64_t size,
                             Interpolation interpolation = Interpolation::Bicubic);
// Crops the centered height x width window (torchvision CenterCrop; the image must be at least
// that large).
RgbImage center_crop(const RgbImage& image, int64_t height, int64_t width);

struct EvalTransform {
    int64_t crop_size = 224;
    double crop_pct = 0.875;
    Interpolation interpolation = Interpolation::Bicubic;
    std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};  // ImageNet
    std::array<float, 3> std = {0.229f, 0.224f, 0.225f};
};

// Resize, center crop, normalize: float32 [1, 3, crop_size, crop_size].
Tensor preprocess_eval(const RgbImage& image, const EvalTransform& transform = {});
// read_rgb_image + preprocess_eval.
Tensor load_image_for_eval(const std::string& path, const EvalTransform& transform = {});

}  // namespace cardinal
