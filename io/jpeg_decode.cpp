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
// libjpeg would fill the rest with grey, PIL refuses it ("image file is truncated").
void on_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) on_error(cinfo);
}

// Decodes into `out` (sized here); returns "" or the reason it failed. No object with a
// destructor lives in this frame across setjmp except `out`, which the caller owns.
std::string decode_into(const uint8_t* data, size_t size, int64_t max_pixels, Image& out) {
    jpeg_decompress_struct cinfo;
    ErrorManager err;
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = on_error;
    err.base.emit_message = on_message;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return err.message;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
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
    jpeg_start_decompress(&cinfo);
    out.height = cinfo.output_height;
    out.width = cinfo.output_width;
    out.channels = cinfo.output_components;
    out.pixels.resize(static_cast<size_t>(out.height * out.width * out.channels));
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row =
            &out.pixels[static_cast<size_t>(cinfo.output_scanline) * out.width * out.channels];
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
