#include "data/dataset.h"

namespace cardinal {

Tensor ImageDataset::images_tensor() const {
    Tensor t = empty({size(), channels, height, width}, DType::Float32);
    float* dst = t.data<float>();
    const int64_t n = static_cast<int64_t>(pixels.size());
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(pixels[i]);
    return t;
}

}  // namespace cardinal
