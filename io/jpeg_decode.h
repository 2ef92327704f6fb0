// JPEG decoding through libjpeg-turbo (io/image.cpp's JPEG path), kept apart because libjpeg
// reports errors by longjmp, which must not cross C++ frames with destructors.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "io/image.h"

namespace cardinal {

// True when the bytes start with a JPEG SOI marker.
bool looks_like_jpeg(const uint8_t* data, size_t size);

// Native channels: 1 for a grayscale JPEG, 3 (RGB, libjpeg's YCbCr conversion) otherwise.
// Refuses CMYK/YCCK and images over max_pixels before allocating them (FormatError).
Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name, int64_t max_pixels);

}  // namespace cardinal
