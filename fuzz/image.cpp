// Fuzz target: image decoding (PNG, BMP, GIF, TGA, PNM through stb_image; JPEG through
// libjpeg-turbo), in both colour modes, then the conversion to a tensor. The seeds hold PNGs
// and JPEGs (baseline and progressive, grey, RGB, RGBA, palette).
#include "fuzz/fuzz_input.h"
#include "io/image.h"

using namespace cardinal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    for (ColorMode mode : {ColorMode::Rgb, ColorMode::Grey}) {
        fuzz::refusal_is_fine([&] {
            Image image = decode_image(data, size, "fuzz input", mode);
            const size_t expected = static_cast<size_t>(image.height * image.width * image.channels);
            if (image.pixels.size() != expected) std::abort();  // decode_image's promise
            Tensor t = image_to_tensor(image);
            volatile float sink = t.data<float>()[t.numel() - 1];
            (void)sink;
        });
    }
    return 0;
}
