// Image decoding, PIL-exact resampling and cropping (timm's eval preprocessing is built on these
// in io/eval_transform.h).
//
// Decoding gives the pixels PIL gives for Image.open(path).convert(mode):
//   - JPEG through libjpeg-turbo with its defaults (the library and settings PIL uses), so the
//     pixels are identical to PIL's, baseline and progressive; CMYK JPEGs are refused;
//   - PNG, BMP, GIF, TGA, PNM through stb_image (lossless formats: exact). 16-bit PNGs keep their
//     high byte, which is what PIL does for RGB; PIL's 16-bit grayscale mode "I;16" differs.
//   - no EXIF orientation is applied: neither PIL's Image.open nor timm's loaders call
//     ImageOps.exif_transpose, so a phone photo stored sideways is classified sideways in both.
//   - ColorMode::Rgb is convert("RGB"): grayscale is replicated, alpha is dropped (no blending),
//     palettes are expanded. ColorMode::Grey is convert("L"): L = (19595 R + 38470 G + 7471 B +
//     32768) >> 16 for color sources (PIL's ITU-R 601-2 fixed point), grayscale kept as is.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace cardinal {

// 8-bit pixels, row-major, interleaved: pixels[(y * width + x) * channels + c]; 3 channels (RGB)
// or 1 (grey).
struct Image {
    int64_t height = 0;
    int64_t width = 0;
    int64_t channels = 3;
    std::vector<uint8_t> pixels;
};

enum class ColorMode { Rgb, Grey };

// Decodes a file / an in-memory encoded image. `name` appears in error messages.
// A missing, unreadable or corrupt image is a FormatError naming it and the decoder's reason.
Image read_image(const std::string& path, ColorMode mode = ColorMode::Rgb);
Image decode_image(const uint8_t* data, size_t size, const std::string& name,
                   ColorMode mode = ColorMode::Rgb);

// float32 [C, H, W] with values u8 / 255 in [0, 1].
Tensor image_to_tensor(const Image& image);
// read_image + image_to_tensor.
Tensor load_image(const std::string& path, ColorMode mode = ColorMode::Rgb);

enum class Interpolation { Bilinear, Bicubic };
// "bilinear" / "bicubic" (timm's names); ValueError otherwise.
Interpolation parse_interpolation(const std::string& name);
const char* interpolation_name(Interpolation interpolation);

// Resamples to (height, width) as PIL's Image.resize does: separable (horizontal pass, then
// vertical), antialiased when shrinking, each pass rounded to 8 bits in PIL's fixed point.
Image resize_image(const Image& image, int64_t height, int64_t width,
                   Interpolation interpolation = Interpolation::Bicubic);
// Resizes so that the shorter side is `size` and the longer int(size * long / short)
// (torchvision Resize(int)).
Image resize_shorter_side(const Image& image, int64_t size,
                          Interpolation interpolation = Interpolation::Bicubic);
// Crops the centered height x width window (torchvision CenterCrop; the image must be at least
// that large): top = int(round((H - height) / 2)), Python's round-half-to-even.
Image center_crop(const Image& image, int64_t height, int64_t width);
// timm's center_crop_or_pad: pads the sides shorter than the window with `fill` (one value per
// channel; left/top get the smaller half), then center crops.
Image center_crop_or_pad(const Image& image, int64_t height, int64_t width,
                         const std::vector<uint8_t>& fill);

}  // namespace cardinal
