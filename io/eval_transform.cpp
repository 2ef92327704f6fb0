#include "io/eval_transform.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "tensor/error.h"

namespace cardinal {

CropMode parse_crop_mode(const std::string& name) {
    if (name == "center") return CropMode::Center;
    if (name == "squash") return CropMode::Squash;
    if (name == "border") return CropMode::Border;
    fail<ValueError>("crop mode must be center, squash or border, got '", name, "'");
}

const char* crop_mode_name(CropMode mode) {
    switch (mode) {
        case CropMode::Squash:
            return "squash";
        case CropMode::Border:
            return "border";
        default:
            return "center";
    }
}

void EvalTransform::validate(int64_t channels) const {
    check<ValueError>(crop_size > 0 && crop_size <= 8192,
                      "eval transform: size must be in 1..8192, got ", crop_size);
    check<ValueError>(crop_pct > 0.0 && crop_pct <= 1.0,
                      "eval transform: crop_pct must be in (0, 1], got ", crop_pct);
    check<ValueError>(static_cast<int64_t>(mean.size()) == channels &&
                          static_cast<int64_t>(std.size()) == channels,
                      "eval transform: mean and std need ", channels,
                      " values (one per channel), got ", mean.size(), " and ", std.size());
    for (size_t c = 0; c < std.size(); ++c)
        check<ValueError>(std::isfinite(mean[c]) && std::isfinite(std[c]) && std[c] > 0.0,
                          "eval transform: std must be positive and mean finite, got mean ",
                          mean[c], " std ", std[c]);
}

std::string EvalTransform::describe() const {
    std::ostringstream os;
    os << crop_size << "x" << crop_size << " crop_pct " << crop_pct << " "
       << interpolation_name(interpolation) << " " << crop_mode_name(crop_mode) << ", mean [";
    for (size_t c = 0; c < mean.size(); ++c) os << (c ? ", " : "") << mean[c];
    os << "] std [";
    for (size_t c = 0; c < std.size(); ++c) os << (c ? ", " : "") << std[c];
    os << "]";
    return os.str();
}

Tensor preprocess_eval(const Image& image, const EvalTransform& t) {
    t.validate(image.channels);
    check<ValueError>(image.height > 0 && image.width > 0, "preprocess_eval: empty image");
    // Python: math.floor(img_size / crop_pct), a float division.
    const auto scale =
        static_cast<int64_t>(std::floor(static_cast<double>(t.crop_size) / t.crop_pct));
    Image crop;
    if (t.crop_mode == CropMode::Center) {
        crop = center_crop(resize_shorter_side(image, scale, t.interpolation), t.crop_size,
                           t.crop_size);
    } else if (t.crop_mode == CropMode::Squash) {
        crop = center_crop(resize_image(image, scale, scale, t.interpolation), t.crop_size,
                           t.crop_size);
    } else {
        // ResizeKeepRatio(longest=1): ratio = max(H / scale, W / scale), sides round(side / ratio).
        const double ratio =
            std::max(static_cast<double>(image.height) / static_cast<double>(scale),
                     static_cast<double>(image.width) / static_cast<double>(scale));
        const auto h =
            static_cast<int64_t>(std::nearbyint(static_cast<double>(image.height) / ratio));
        const auto w =
            static_cast<int64_t>(std::nearbyint(static_cast<double>(image.width) / ratio));
        std::vector<uint8_t> fill;
        for (double m : t.mean)  // Python round(255 * v): halves to even
            fill.push_back(static_cast<uint8_t>(std::clamp(std::nearbyint(255.0 * m), 0.0, 255.0)));
        crop = center_crop_or_pad(
            resize_image(image, std::max<int64_t>(h, 1), std::max<int64_t>(w, 1), t.interpolation),
            t.crop_size, t.crop_size, fill);
    }
    Tensor x = image_to_tensor(crop);
    float* p = x.data<float>();
    const int64_t c = crop.channels, plane = t.crop_size * t.crop_size;
    for (int64_t k = 0; k < c; ++k) {
        // torch.tensor(mean) is float32: the subtraction and division happen in float32.
        const auto mean = static_cast<float>(t.mean[k]), stdev = static_cast<float>(t.std[k]);
        for (int64_t i = 0; i < plane; ++i) p[k * plane + i] = (p[k * plane + i] - mean) / stdev;
    }
    return x.view({1, c, t.crop_size, t.crop_size});
}

Tensor load_image_for_eval(const std::string& path, const EvalTransform& transform,
                           ColorMode mode) {
    return preprocess_eval(read_image(path, mode), transform);
}

}  // namespace cardinal
