// Hostile images: each is refused with one FormatError naming the file and the problem, before
// the decoder allocates what the header claims: absurd dimensions, a decompression bomb's
// header, truncated files, an unsupported colour space. Valid files that compress as well as
// deflate allows still decode.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <string>

#include "io/image.h"
#include "tensor/error.h"
#include "tests/io/io_test_util.h"

using namespace cardinal;
using cardinal::test::TempDir;

namespace {

const std::string kData = CARDINAL_TEST_DATA;

std::string be32(uint32_t v) {
    return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

std::string chunk(const std::string& type, const std::string& body) {
    const std::string tb = type + body;
    const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(tb.data()), tb.size());
    return be32(static_cast<uint32_t>(body.size())) + tb + be32(static_cast<uint32_t>(crc));
}

// A PNG of `height` rows whose filtered pixel bytes are `raw` (zlib level 9); the header says
// width x height, 8-bit, colour type `color_type`.
std::string png(uint32_t width, uint32_t height, int color_type, const std::string& raw) {
    uLongf len = compressBound(raw.size());
    std::string z(len, '\0');
    REQUIRE(compress2(reinterpret_cast<Bytef*>(z.data()), &len,
                      reinterpret_cast<const Bytef*>(raw.data()), raw.size(), 9) == Z_OK);
    z.resize(len);
    const std::string ihdr = be32(width) + be32(height) + std::string{8, char(color_type), 0, 0, 0};
    return "\x89PNG\r\n\x1a\n" + chunk("IHDR", ihdr) + chunk("IDAT", z) + chunk("IEND", "");
}

std::string decode_error(const std::string& bytes, const std::string& name) {
    try {
        decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), name);
    } catch (const FormatError& e) {
        return e.what();
    }
    return "";
}

// `jpeg` with the frame header (SOF0 or SOF2) claiming width x height.
std::string with_jpeg_size(std::string jpeg, uint16_t width, uint16_t height) {
    size_t sof = jpeg.find("\xff\xc0");
    if (sof == std::string::npos) sof = jpeg.find("\xff\xc2");
    REQUIRE(sof != std::string::npos);
    jpeg[sof + 5] = char(height >> 8);
    jpeg[sof + 6] = char(height);
    jpeg[sof + 7] = char(width >> 8);
    jpeg[sof + 8] = char(width);
    return jpeg;
}

// How many MiB the peak resident size grows while decoding `bytes` (in a child process, so the
// peak is this decode's alone); the decode may fail.
long decode_peak_growth_mib(const std::string& bytes) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        rusage before{}, after{};
        getrusage(RUSAGE_SELF, &before);
        try {
            decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x.jpg");
        } catch (const Error&) {
        }
        getrusage(RUSAGE_SELF, &after);
        _exit(static_cast<int>(std::min(255L, (after.ru_maxrss - before.ru_maxrss) / 1024)));
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("hostile images: a 60-byte PNG claiming 100000 x 100000 is refused", "[image]") {
    const std::string m = decode_error(png(100000, 100000, 0, std::string(1, '\0')), "huge.png");
    CHECK_THAT(m, Catch::Contains("huge.png': 100000x100000 exceeds the limit of 32768 pixels per side"));
}

TEST_CASE("hostile images: a decompression bomb's header is refused before decoding", "[image]") {
    // 8192 x 8192 grey is within the pixel limit (2^26) but needs 67 MB of rows: a file of a few
    // hundred bytes cannot hold them, whatever the deflate stream says.
    const std::string bomb = png(8192, 8192, 0, std::string(4096, '\0'));
    REQUIRE(bomb.size() < 200);
    const std::string m = decode_error(bomb, "bomb.png");
    CHECK_THAT(m, Catch::Contains("bomb.png': a 8192x8192 PNG needs 67117056 bytes of pixel data") &&
                      Catch::Contains("truncated or a decompression bomb"));
    // RGBA claims four times as much from the same few bytes.
    CHECK_THAT(decode_error(png(4096, 4096, 6, std::string(64, '\0')), "rgba.png"),
               Catch::Contains("a 4096x4096 PNG needs 67112960 bytes"));
}

TEST_CASE("hostile images: a valid PNG compressed near deflate's limit still decodes", "[image]") {
    // 2048 x 2048 black: 4 MB of rows in about 4 KB, a ratio close to deflate's 1032.
    const uint32_t side = 2048;
    const std::string black = png(side, side, 0, std::string(size_t(side) * (side + 1), '\0'));
    INFO("compressed to " << black.size() << " bytes");
    CHECK(double(side) * (side + 1) / black.size() > 900);
    const Image img =
        decode_image(reinterpret_cast<const uint8_t*>(black.data()), black.size(), "black.png");
    CHECK(img.width == side);
    CHECK(img.height == side);
    CHECK(img.pixels[img.pixels.size() / 2] == 0);
}

TEST_CASE("hostile images: a PNG chunk claiming more bytes than the file holds is refused",
          "[image]") {
    // Found by the image fuzz target (tests/data/png_idat_past_end.png, also in the image
    // corpus): stb_image grows its IDAT buffer to a chunk's claimed length before it finds the
    // bytes missing (2 GiB for the fuzzer's 92-byte file; 1.2 GB for this 2x2 PNG's first IDAT).
    const std::string good = png(2, 2, 0, std::string(6, '\0'));
    const size_t idat = good.find("IDAT") - 4;
    std::string bad = good;
    bad.replace(idat, 4, be32(0x49450000));
    CHECK_THAT(decode_error(bad, "long.png"),
               Catch::Contains("long.png': PNG chunk 'IDAT' at byte 33 claims 1229258752 bytes, "
                               "but only ") &&
                   Catch::Contains("follow (the file is truncated or corrupt)"));
    // The chunk type is printed escaped.
    bad.replace(idat + 4, 4, "I\x1b[D");
    CHECK_THAT(decode_error(bad, "long.png"), Catch::Contains("PNG chunk 'I\\x1B[D' at byte 33"));
    // What follows IEND is not read: trailing bytes that look like a long chunk are fine.
    const std::string trailing = good + be32(0x7fffffff) + "IDAT";
    CHECK(decode_error(trailing, "trailing.png").empty());
    // The fuzzer's input: its second IDAT claims 1409286178 bytes with 1 left.
    const std::string finding = test::read_bytes(kData + "/png_idat_past_end.png");
    CHECK_THAT(decode_error(finding, "finding.png"),
               Catch::Contains("PNG chunk 'IDAT' at byte 79 claims 1409286178 bytes, but only 1 "
                               "follow"));
}

TEST_CASE("hostile images: every truncation of a small PNG and JPEG is refused", "[image]") {
    std::string raw;
    for (int y = 0; y < 16; ++y) {
        raw += '\0';
        for (int x = 0; x < 16 * 3; ++x) raw += char((x * 7 + y * 13) % 256);
    }
    const std::string good_png = png(16, 16, 2, raw);
    REQUIRE(decode_error(good_png, "good.png").empty());
    // Every cut up to the IEND chunk (a PNG without it still has all its pixels; stb_image, as
    // libpng, decodes it).
    for (size_t cut = 0; cut + 12 < good_png.size(); ++cut) {
        INFO("PNG cut at " << cut << " of " << good_png.size());
        CHECK_THAT(decode_error(good_png.substr(0, cut), "cut.png"), Catch::Contains("cut.png"));
    }
    const std::string jpg = test::read_bytes(kData + "/cmyk_8x8.jpg");  // any JPEG's header
    const std::string progressive = test::read_bytes(kData + "/timm_eval/src/progressive.jpg");
    for (size_t cut : {size_t{0}, size_t{2}, size_t{3}, size_t{20}, size_t{200},
                       progressive.size() / 3, progressive.size() - 2}) {
        INFO("JPEG cut at " << cut);
        CHECK_THAT(decode_error(progressive.substr(0, cut), "cut.jpg"), Catch::Contains("cut.jpg"));
    }
    CHECK(jpg.size() > 100);
}

TEST_CASE("hostile images: a CMYK JPEG is refused naming the colour space", "[image]") {
    // tests/data/cmyk_8x8.jpg: 8x8, written by libjpeg with in_color_space JCS_CMYK (4 channels);
    // PIL reads such files as mode CMYK, which timm's RGB pipeline would convert, cardinal refuses.
    const std::string jpg = test::read_bytes(kData + "/cmyk_8x8.jpg");
    CHECK_THAT(decode_error(jpg, "cmyk.jpg"),
               Catch::Contains("cmyk.jpg") && Catch::Contains("CMYK JPEGs are not supported"));
}

TEST_CASE("hostile images: an unknown PNG colour type is refused", "[image]") {
    // Colour type 5 does not exist (0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA).
    CHECK_THAT(decode_error(png(4, 4, 5, std::string(4 * 5, '\0')), "type5.png"),
               Catch::Contains("type5.png") && Catch::Contains("not a readable"));
}

TEST_CASE("hostile images: a PNM header number too long for an int is refused", "[image]") {
    // Found by the image fuzz target (fuzz/corpus/image/pnm_header_overflow): stb_image would
    // overflow an int reading "6666...": undefined behaviour, reported by UBSan.
    const std::string pnm = "P5 4 2 " + std::string(40, '6') + "\n" + std::string(8, '\x10');
    CHECK_THAT(decode_error(pnm, "long.pgm"),
               Catch::Contains("long.pgm': a PNM header number of 40 digits is not a valid size"));
    // Comments are skipped; a normal header still decodes.
    const std::string ok = "P5\n# a comment\n4 2\n255\n" + std::string(8, '\x10');
    CHECK(decode_error(ok, "ok.pgm").empty());
}

TEST_CASE("a PNG with empty IDAT chunks decodes as without them", "[image]") {
    // stb_image copied a first empty IDAT from a null buffer (undefined behaviour, found by
    // fuzzing); the decoder drops empty IDATs first, which changes no pixel.
    const std::string raw = std::string("\0\x10\x20", 3) + std::string("\0\x30\x40", 3);  // 2x2 gray
    const std::string plain = png(2, 2, 0, raw);
    const size_t idat = plain.find("IDAT") - 4;
    const std::string with_empty = plain.substr(0, idat) + chunk("IDAT", "") + plain.substr(idat);
    const std::string two_empty = plain.substr(0, idat) + chunk("IDAT", "") + chunk("IDAT", "") + plain.substr(idat);
    const Image a = decode_image(reinterpret_cast<const uint8_t*>(plain.data()), plain.size(), "a.png");
    for (const std::string* s : {&with_empty, &two_empty}) {
        const Image b = decode_image(reinterpret_cast<const uint8_t*>(s->data()), s->size(), "b.png");
        CHECK(b.width == a.width);
        CHECK(b.height == a.height);
        CHECK(b.pixels == a.pixels);
    }
}

TEST_CASE("hostile images: a JPEG header claiming 60000 x 60000 is refused before decoding",
          "[image]") {
    const std::string jpg = test::read_bytes(kData + "/timm_eval/src/exif_rotate.jpg");
    CHECK_THAT(decode_error(with_jpeg_size(jpg, 60000, 60000), "huge.jpg"),
               Catch::Contains("huge.jpg': cannot decode JPEG (60000x60000 exceeds the limit of "
                               "67108864 pixels)"));
}

TEST_CASE("hostile images: a JPEG whose data ends before its claimed size allocates only what "
          "it decoded", "[image]") {
    // A 50 KB baseline file whose header claims 8192 x 8192 (2^26 pixels, within the limit,
    // 192 MiB as RGB): its scan data runs out after a few rows, at the EOI marker or, cut
    // short, at the end of the file. Both are refused, and the pixels grow with the rows
    // decoded rather than to the claimed size up front.
    const std::string jpg =
        with_jpeg_size(test::read_bytes(kData + "/timm_eval/src/exif_rotate.jpg"), 8192, 8192);
    const std::string cut = jpg.substr(0, jpg.size() - 100);
    CHECK_THAT(decode_error(jpg, "claims.jpg"),
               Catch::Contains("claims.jpg': cannot decode JPEG (") &&
                   Catch::Contains("premature end of data segment"));
    CHECK_THAT(decode_error(cut, "cut.jpg"),
               Catch::Contains("cut.jpg': cannot decode JPEG (Premature end of JPEG file)"));
    CHECK(decode_peak_growth_mib(jpg) < 32);
    CHECK(decode_peak_growth_mib(cut) < 32);
}

TEST_CASE("hostile images: a progressive JPEG with too many scans is refused", "[image]") {
    // progressive.jpg has 10 scans. Its last scan, repeated, makes a file that libjpeg decodes
    // with a warning (a repeated refinement), walking every coefficient once per scan: a CPU
    // bomb when repeated thousands of times. Up to 100 scans decode; more are refused.
    const std::string jpg = test::read_bytes(kData + "/timm_eval/src/progressive.jpg");
    REQUIRE(jpg.compare(jpg.size() - 2, 2, "\xff\xd9") == 0);
    const size_t last_scan = jpg.rfind("\xff\xda");
    REQUIRE(last_scan != std::string::npos);
    const std::string scan = jpg.substr(last_scan, jpg.size() - 2 - last_scan);
    auto with_scans = [&](int extra) {
        std::string f = jpg.substr(0, jpg.size() - 2);
        for (int i = 0; i < extra; ++i) f += scan;
        return f + "\xff\xd9";
    };
    const std::string ok = with_scans(90);  // 100 scans
    const Image img = decode_image(reinterpret_cast<const uint8_t*>(ok.data()), ok.size(), "ok.jpg");
    CHECK(img.width == 300);
    CHECK(img.height == 229);
    CHECK_THAT(decode_error(with_scans(91), "bomb.jpg"),
               Catch::Contains("bomb.jpg': cannot decode JPEG (more than 100 scans") &&
                   Catch::Contains("decompression bomb"));
}

TEST_CASE("hostile images: a TGA or BMP header claiming more pixels than its bytes can hold is refused",
          "[image]") {
    // Found by the image fuzz target (fuzz/corpus/image/tga_header_bomb): 22 bytes whose TGA
    // header claims 3399 x 6666 16-bit pixels. stb_image read past the end as zeros and returned
    // 22 million invented pixels (and took 20 s under the sanitizers).
    const std::string tga("\x00\x00\x02\x00\x02\x10\x89\x30\x89\x3b\x50\x4e\x47\x0d\x0a\x1a"
                          "\x10\x89\x30\x00\x0a\x02", 22);
    CHECK_THAT(decode_error(tga, "bomb.tga"),
               Catch::Contains("bomb.tga': 22657734 pixels cannot come from a file of 22 bytes") &&
                   Catch::Contains("truncated or a decompression bomb"));
    // A whole uncompressed 64 x 64 grey TGA still decodes.
    std::string ok("\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x40\x00\x40\x00\x08\x00", 18);
    ok += std::string(64 * 64, '\x7f');
    CHECK(decode_error(ok, "ok.tga").empty());
}
