#include "io/jpeg_decode.h"

#include <csetjmp>
#include <cstdio>
// jpeglib.h needs size_t and FILE declared first.
#include <jerror.h>
#include <jpeglib.h>

#include "tensor/error.h"

namespace cardinal {
namespace {

// libjpeg calls error_exit on any fatal error; we jump back to decode_jpeg with the message.
struct ErrorManager {
    jpeg_error_mgr base;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr cinfo) {
    auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, err->message);
    std::longjmp(err->jump, 1);
}

// Warnings (extraneous bytes, ...) are not errors, as in PIL, except a file that ends early:
// libjpeg would fill the rest with grey, PIL refuses it ("image file is truncated"). A scan
// whose data stops at a marker (JWRN_HIT_MARKER: an EOI or the next scan's header before the
// image is complete) is the same thing inside the file, and would let a few hundred bytes
// claiming 8192 x 8192 decode into 200 MB of invented grey.
void on_message(j_common_ptr cinfo, int level) {
    if (level < 0 &&
        (cinfo->err->msg_code == JWRN_JPEG_EOF || cinfo->err->msg_code == JWRN_HIT_MARKER))
        on_error(cinfo);
}

// A progressive (or multi-scan) JPEG may hold any number of scans, and every scan makes the
// decoder walk the image's whole coefficient buffer: a file repeating one tiny scan thousands
// of times is a CPU bomb of a few kilobytes. Encoders write about ten (libjpeg's progressive
// script has 10, a non-interleaved baseline file one per component); libjpeg-turbo's djpeg
// offers the same limit as -maxscans.
constexpr int kMaxScans = 100;

// libjpeg's own allocations (row buffers, and for a progressive file the whole image's DCT
// coefficients, 2 bytes per sample) are capped at this many bytes per declared pixel: 3
// full-resolution components need 6, plus a fixed allowance for tables and row buffers.
// The pixel limit already bounds the claim; this bounds what libjpeg makes of it.
constexpr long kWorkBytesPerPixel = 8;
constexpr long kWorkBytesFixed = 16L << 20;

// Called by libjpeg as it reads (jpeg_start_decompress reads a progressive file's every scan).
void on_progress(j_common_ptr cinfo) {
    const auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
    if (d->input_scan_number > kMaxScans) {
        auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
        std::snprintf(err->message, sizeof err->message,
                      "more than %d scans; encoders write about 10, so this file is refused "
                      "as a decompression bomb", kMaxScans);
        std::longjmp(err->jump, 1);
    }
}

// Decodes into `out` (grown as rows arrive); returns "" or the reason it failed. No object
// with a destructor lives in this frame across setjmp except `out`, which the caller owns.
std::string decode_into(const uint8_t* data, size_t size, int64_t max_pixels, Image& out) {
    jpeg_decompress_struct cinfo;
    ErrorManager err;
    jpeg_progress_mgr progress;
    progress.progress_monitor = on_progress;
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = on_error;
    err.base.emit_message = on_message;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return err.message;
    }
    jpeg_create_decompress(&cinfo);
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
    // APPn and COM markers are skipped, not kept (no jpeg_save_markers), so however many a
    // file holds they cost no memory.
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        return "CMYK JPEGs are not supported (convert it to RGB first)";
    }
    const int64_t pixels = int64_t{cinfo.image_width} * cinfo.image_height;
    if (pixels > max_pixels) {
        jpeg_destroy_decompress(&cinfo);
        return std::to_string(cinfo.image_width) + "x" + std::to_string(cinfo.image_height) +
               " exceeds the limit of " + std::to_string(max_pixels) + " pixels";
    }
    cinfo.out_color_space = cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    // Over this, libjpeg asks for a backing store, which this build of it refuses (an error).
    cinfo.mem->max_memory_to_use = kWorkBytesFixed + kWorkBytesPerPixel * static_cast<long>(pixels);
    jpeg_start_decompress(&cinfo);
    out.height = cinfo.output_height;
    out.width = cinfo.output_width;
    out.channels = cinfo.output_components;
    // The pixels grow with the rows decoded, not to the size the header claims: a sequential
    // file that ends early (or whose data is garbage) fails after allocating what its bytes
    // decoded, not the 200 MB a 300-byte header may claim. (std::vector grows geometrically,
    // so this copies at most about twice the image.)
    const size_t row_bytes = static_cast<size_t>(out.width) * out.channels;
    while (cinfo.output_scanline < cinfo.output_height) {
        const size_t y = cinfo.output_scanline;
        out.pixels.resize((y + 1) * row_bytes);
        JSAMPROW row = &out.pixels[y * row_bytes];
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return "";
}

}  // namespace

bool looks_like_jpeg(const uint8_t* data, size_t size) {
    return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name, int64_t max_pixels) {
    Image out;
    const std::string problem = decode_into(data, size, max_pixels, out);
    if (!problem.empty())
        fail<FormatError>("image '", name, "': cannot decode JPEG (", problem, ")");
    return out;
}

}  // namespace cardinal
