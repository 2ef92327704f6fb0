// timm's evaluation transform (timm.data.transforms_imagenet_eval with torchvision's PIL path),
// exactly:
//   scale = floor(crop_size / crop_pct)
//   center (default): Resize(scale), the shorter side becomes `scale`, the longer
//                     int(scale * long / short); CenterCrop(crop_size)
//   squash          : Resize((scale, scale)), the aspect ratio is not kept; CenterCrop(crop_size)
//   border          : ResizeKeepRatio(scale, longest=1): ratio = max(H, W) / scale, each side
//                     round(side / ratio); CenterCropOrPad(crop_size) with fill round(255 * mean)
//   ToTensor + Normalize: (u8 / 255 - mean) / std in float32
// giving a float32 [1, C, crop_size, crop_size] batch (C = 3 for RGB, 1 for grey images).
// The resizes are PIL's (io/image.h): bilinear or bicubic, antialiased.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/image.h"
#include "tensor/tensor.h"

namespace cardinal {

enum class CropMode { Center, Squash, Border };
// "center" / "squash" / "border" (timm's names); ValueError otherwise.
CropMode parse_crop_mode(const std::string& name);
const char* crop_mode_name(CropMode mode);

struct EvalTransform {
    int64_t crop_size = 224;
    double crop_pct = 0.875;
    Interpolation interpolation = Interpolation::Bicubic;
    std::vector<double> mean = {0.485, 0.456, 0.406};  // ImageNet; one per channel
    std::vector<double> std = {0.229, 0.224, 0.225};
    CropMode crop_mode = CropMode::Center;

    // ValueError naming the field when a value is out of range or mean/std do not have
    // `channels` entries.
    void validate(int64_t channels) const;
    // One line: "224x224 crop 0.875 bicubic center, mean [...] std [...]".
    std::string describe() const;
};

// The transform on one decoded image: float32 [1, C, crop_size, crop_size].
Tensor preprocess_eval(const Image& image, const EvalTransform& transform = {});
// read_image + preprocess_eval.
Tensor load_image_for_eval(const std::string& path, const EvalTransform& transform = {},
                           ColorMode mode = ColorMode::Rgb);

}  // namespace cardinal
