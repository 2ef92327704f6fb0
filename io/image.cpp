// Decoding (stb_image, libjpeg-turbo for JPEG) and PIL's mode conversions to RGB and L.
#include "io/image.h"

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <vector>
#include <memory>

#include "io/jpeg_decode.h"
#include "tensor/error.h"
#include "tensor/escape.h"

// stb_image is compiled into this file only, with internal linkage, so it can never clash with
// another copy (Debian's libstb, or one a user links in).
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO  // we read files ourselves, to report errors with errno text
#define STBI_NO_JPEG   // JPEG goes to libjpeg-turbo (io/jpeg_decode.cpp), as in PIL
// Images claiming more than this per side are refused before stb allocates their pixels.
#define STBI_MAX_DIMENSIONS (1 << 15)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

namespace cardinal {

namespace {

// A decoded RGB image of this many pixels takes 192 MB; bigger ones are not classifier inputs.
constexpr int64_t kMaxPixels = int64_t{1} << 26;

// Whether `data` starts with the PNG signature.
bool is_png(const uint8_t* data, size_t size) {
    static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    return size >= 8 && std::memcmp(data, kSignature, 8) == 0;
}

// `data` without its zero-length IDAT chunks, when it is a PNG that has any (otherwise empty).
// An empty IDAT carries no image data, so the decode is unchanged; stb_image copies a first
// empty IDAT from a null buffer (memcpy(NULL, ..., 0): undefined behaviour, found by fuzzing).
// A chunk (before IEND) whose length runs past the end of the file is refused: stb_image grows
// its IDAT buffer to the claimed length (doubling) before it finds the bytes missing, so an
// IDAT claiming 1 GiB in a 92-byte file made it allocate 2 GiB (found by fuzzing).
std::vector<uint8_t> without_empty_idat(const uint8_t* data, size_t size, const std::string& name) {
    std::vector<uint8_t> out;
    if (!is_png(data, size)) return out;
    size_t at = 8, kept = 8;  // data[kept_from..at) is copied when a chunk is dropped
    bool dropped = false;
    while (at + 12 <= size) {
        const uint32_t length = (uint32_t{data[at]} << 24) | (uint32_t{data[at + 1]} << 16) |
                                (uint32_t{data[at + 2]} << 8) | uint32_t{data[at + 3]};
        check<FormatError>(length <= size - at - 12, "image '", name, "': PNG chunk '",
                           escape_for_message(std::string_view(
                               reinterpret_cast<const char*>(data + at + 4), 4)),
                           "' at byte ", at, " claims ", length, " bytes, but only ",
                           size - at - 12, " follow (the file is truncated or corrupt)");
        if (std::memcmp(data + at + 4, "IEND", 4) == 0) break;  // what follows is not read
        if (length == 0 && std::memcmp(data + at + 4, "IDAT", 4) == 0) {
            if (!dropped) out.assign(data, data + at);
            else out.insert(out.end(), data + kept, data + at);
            dropped = true;
            at += 12;
            kept = at;
            continue;
        }
        at += 12 + length;
    }
    if (dropped) out.insert(out.end(), data + kept, data + size);
    return out;
}

// A PNG's pixels are deflate-compressed, and deflate expands at most 1032 to 1 (a 258-byte
// match coded in 2 bits). So a PNG whose rows (a filter byte each, then width * channels *
// bit depth bits) need more than 1032 times the file's size cannot be whole: it is truncated,
// or a decompression bomb's header (a few bytes claiming 8192 x 8192). Refused here, before
// stb_image allocates the claimed size; no valid file is refused.
void check_png_fits(const uint8_t* data, size_t size, const std::string& name) {
    if (size < 33 || !is_png(data, size) || std::memcmp(data + 12, "IHDR", 4) != 0)
        return;  // not a PNG, or stb_image reports what is wrong with it
    auto be32 = [&](size_t at) {
        return (uint64_t{data[at]} << 24) | (uint64_t{data[at + 1]} << 16) |
               (uint64_t{data[at + 2]} << 8) | uint64_t{data[at + 3]};
    };
    const uint64_t width = be32(16), height = be32(20), depth = data[24], color_type = data[25];
    uint64_t channels = 0;
    switch (color_type) {
        case 0: channels = 1; break;  // grey
        case 2: channels = 3; break;  // RGB
        case 3: channels = 1; break;  // palette index
        case 4: channels = 2; break;  // grey + alpha
        case 6: channels = 4; break;  // RGBA
        default: return;              // stb_image refuses it
    }
    check<FormatError>(width <= STBI_MAX_DIMENSIONS && height <= STBI_MAX_DIMENSIONS, "image '",
                       name, "': ", width, "x", height, " exceeds the limit of ",
                       STBI_MAX_DIMENSIONS, " pixels per side");
    // Both sides are at most 2^15 now, so nothing below overflows.
    const uint64_t row_bytes = 1 + (width * channels * depth + 7) / 8;
    const uint64_t needed = height * row_bytes;
    check<FormatError>(needed <= 1032 * static_cast<uint64_t>(size), "image '", name, "': a ",
                       width, "x", height, " PNG needs ", needed,
                       " bytes of pixel data, more than its ", size,
                       " bytes can hold compressed (the file is truncated or a decompression bomb)");
}

// stb_image reads a PNM header's numbers (width, height, maxval) into an int without an
// overflow check, which is undefined behaviour for a number of ten or more digits (found by the
// image fuzz target). Such a header is refused here first; every real size has fewer digits.
void check_pnm_header(const uint8_t* data, size_t size, const std::string& name) {
    if (size < 2 || data[0] != 'P' || (data[1] != '5' && data[1] != '6')) return;
    size_t i = 2;
    for (int number = 0; number < 3 && i < size; ++number) {
        while (i < size && (std::isspace(data[i]) || data[i] == '#')) {
            if (data[i] == '#')
                while (i < size && data[i] != '\n' && data[i] != '\r') ++i;
            else
                ++i;
        }
        size_t digits = 0;
        for (; i < size && data[i] >= '0' && data[i] <= '9'; ++i) ++digits;
        check<FormatError>(digits <= 9, "image '", name, "': a PNM header number of ", digits,
                           " digits is not a valid size");
        if (digits == 0) return;  // stb_image reports the malformed header
    }
}

// BMP, TGA, PNM (and stb's other formats, not PNG or GIF) store pixels raw or run-length coded;
// BMP's RLE8, the best of those, packs at most 255 pixels into 2 bytes. stb_image reads past the
// end of such a file as zeros, so a 22-byte TGA header claiming 3399x6666 pixels (found by the
// image fuzz target) decoded 22 million invented pixels. More than 256 pixels per byte of file
// is refused: truncated, or a decompression bomb. PNG has its own bound (check_png_fits); GIF's
// LZW may legitimately code more pixels per byte.
void check_raw_pixels_fit(const uint8_t* data, size_t size, int64_t pixels,
                          const std::string& name) {
    const bool gif = size >= 4 && std::memcmp(data, "GIF8", 4) == 0;
    if (is_png(data, size) || gif) return;
    check<FormatError>(pixels <= 256 * static_cast<int64_t>(size), "image '", name, "': ",
                       pixels, " pixels cannot come from a file of ", size,
                       " bytes (at most 256 per byte: the file is truncated or a decompression bomb)");
}

// Native pixels with 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA) channels; palettes come expanded.
Image decode_native(const uint8_t* data, size_t size, const std::string& name) {
    check<FormatError>(size > 0, "image '", name, "': file is empty");
    if (looks_like_jpeg(data, size)) return decode_jpeg(data, size, name, kMaxPixels);
    check<FormatError>(size <= static_cast<size_t>(INT_MAX), "image '", name, "': file of ", size,
                       " bytes is too large to decode");
    const std::vector<uint8_t> cleaned = without_empty_idat(data, size, name);
    if (!cleaned.empty()) {
        data = cleaned.data();
        size = cleaned.size();
    }
    const int len = static_cast<int>(size);
    check_png_fits(data, size, name);
    check_pnm_header(data, size, name);
    int w = 0, h = 0, channels = 0;
    if (!stbi_info_from_memory(data, len, &w, &h, &channels))
        fail<FormatError>("image '", name, "': not a readable PNG/JPEG/BMP/GIF/TGA/PNM image (",
                          stbi_failure_reason(), ")");
    check<FormatError>(int64_t{w} * h <= kMaxPixels, "image '", name, "': ", w, "x", h,
                       " exceeds the limit of ", kMaxPixels, " pixels");
    check_raw_pixels_fit(data, size, int64_t{w} * h, name);
    std::unique_ptr<uint8_t, void (*)(void*)> pixels(
        stbi_load_from_memory(data, len, &w, &h, &channels, 0), stbi_image_free);
    if (!pixels)
        fail<FormatError>("image '", name, "': cannot decode (", stbi_failure_reason(), ")");
    Image out{h, w, channels, {}};
    out.pixels.assign(pixels.get(), pixels.get() + int64_t{w} * h * channels);
    return out;
}

// PIL's convert("RGB") / convert("L") of a native image (alpha dropped, never blended).
Image convert(const Image& in, ColorMode mode) {
    const int64_t n = in.height * in.width, c = in.channels;
    const bool grey_source = c <= 2;
    Image out{in.height, in.width, mode == ColorMode::Rgb ? 3 : 1, {}};
    out.pixels.resize(static_cast<size_t>(n * out.channels));
    for (int64_t i = 0; i < n; ++i) {
        const uint8_t* p = &in.pixels[i * c];
        if (mode == ColorMode::Rgb) {
            for (int64_t k = 0; k < 3; ++k) out.pixels[i * 3 + k] = grey_source ? p[0] : p[k];
        } else if (grey_source) {
            out.pixels[i] = p[0];
        } else {  // PIL's L24: ITU-R 601-2 luma in 16-bit fixed point, rounded
            out.pixels[i] =
                static_cast<uint8_t>((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
        }
    }
    return out;
}

}  // namespace

Image decode_image(const uint8_t* data, size_t size, const std::string& name, ColorMode mode) {
    return convert(decode_native(data, size, name), mode);
}

Image read_image(const std::string& path, ColorMode mode) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
    if (!f) fail<FormatError>("image '", path, "': cannot open: ", std::strerror(errno));
    std::vector<uint8_t> bytes;
    uint8_t buffer[1 << 16];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f.get())) > 0) {
        bytes.insert(bytes.end(), buffer, buffer + n);
        check<FormatError>(bytes.size() <= static_cast<size_t>(INT_MAX), "image '", path,
                           "': file is too large to decode");
    }
    if (std::ferror(f.get()))
        fail<FormatError>("image '", path, "': read failed: ", std::strerror(errno));
    return decode_image(bytes.data(), bytes.size(), path, mode);
}

Tensor image_to_tensor(const Image& image) {
    const int64_t c = image.channels, plane = image.height * image.width;
    check<ValueError>(image.height > 0 && image.width > 0 && (c == 1 || c == 3) &&
                          image.pixels.size() == static_cast<size_t>(plane * c),
                      "image_to_tensor: invalid image (", image.height, "x", image.width, "x", c,
                      ", ", image.pixels.size(), " bytes)");
    Tensor t = empty({c, image.height, image.width});
    float* dst = t.data<float>();
    for (int64_t k = 0; k < c; ++k)
        for (int64_t i = 0; i < plane; ++i)
            dst[k * plane + i] = static_cast<float>(image.pixels[i * c + k]) / 255.0f;
    return t;
}

Tensor load_image(const std::string& path, ColorMode mode) {
    return image_to_tensor(read_image(path, mode));
}

}  // namespace cardinal
