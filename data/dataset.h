// An in-memory image classification set: raw uint8 pixels, N x C x H x W row-major, and int64
// labels. Pixels stay uint8 (a quarter of the memory of float32: Fashion-MNIST is 47 MB, CIFAR-10
// 154 MB); the loader converts and normalizes each batch as it builds it.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace cardinal {

struct ImageDataset {
    int64_t channels = 0, height = 0, width = 0;
    std::vector<uint8_t> pixels;  // size() == size() * channels * height * width
    Tensor labels;                // int64 [N]
    int64_t num_classes = 0;

    int64_t size() const { return labels.defined() ? labels.numel() : 0; }
    int64_t image_numel() const { return channels * height * width; }
    const uint8_t* image(int64_t i) const { return pixels.data() + i * image_numel(); }
    int64_t label(int64_t i) const { return labels.data<int64_t>()[i]; }
    // All images as float32 [N, C, H, W] with the raw values 0..255 (for inspection and tests).
    Tensor images_tensor() const;
};

}  // namespace cardinal
