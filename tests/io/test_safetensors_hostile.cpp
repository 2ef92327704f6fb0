// safetensors: every hostile or broken file is refused with a FormatError naming the problem,
// before any allocation the file describes.
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <string>

#include "io/safetensors.h"
#include "tensor/allocator.h"
#include "tensor/error.h"
#include "tests/io/io_test_util.h"

using namespace cardinal;
using cardinal::test::TempDir;

namespace {

// Writes `bytes`, loads them, and returns the FormatError message (empty if none was thrown).
// Fails the test if loading reserved more than 1 MB: every hostile file here claims more.
std::string load_error(const std::string& bytes) {
    TempDir dir;
    const std::string path = dir.file("bad.safetensors");
    test::write_bytes(path, bytes);
    const int64_t reserved_before = allocator_stats().bytes_reserved;
    std::string message;
    try {
        load_safetensors(path);
    } catch (const FormatError& e) {
        message = e.what();
    }
    CHECK(allocator_stats().bytes_reserved - reserved_before < (1 << 20));
    INFO(message);
    CHECK(message.find("bad.safetensors") != std::string::npos);  // names the file
    return message;
}

// A one-tensor header with the given entry body.
std::string one(const std::string& entry) { return R"({"t": )" + entry + "}"; }

const std::string kData(64, '\0');

}  // namespace

TEST_CASE("hostile safetensors: empty file") {
    CHECK_THAT(load_error(""), Catch::Contains("too short"));
}

TEST_CASE("hostile safetensors: truncated header length") {
    CHECK_THAT(load_error(std::string("\x10\x00\x00\x00\x00", 5)),
               Catch::Contains("5 bytes, too short"));
}

TEST_CASE("hostile safetensors: header longer than the file") {
    CHECK_THAT(load_error(test::le64(100) + "{}"),
               Catch::Contains("header length 100 exceeds the 2 bytes"));
}

TEST_CASE("hostile safetensors: header length 2^60") {
    CHECK_THAT(load_error(test::le64(uint64_t{1} << 60) + std::string(32, ' ')),
               Catch::Contains("header length 1152921504606846976 exceeds"));
}

TEST_CASE("hostile safetensors: invalid JSON") {
    CHECK_THAT(load_error(test::safetensors_bytes(R"({"t": {"dtype": "F32",)", kData)),
               Catch::Contains("not valid JSON"));
}

TEST_CASE("hostile safetensors: JSON that is not an object") {
    CHECK_THAT(load_error(test::safetensors_bytes("[1, 2, 3]", kData)),
               Catch::Contains("must be a JSON object, found array"));
}

TEST_CASE("hostile safetensors: unknown dtype") {
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "Q4", "shape": [2], "data_offsets": [0, 2]})"), kData)),
               Catch::Contains("tensor 't': unsupported dtype 'Q4'"));
}

TEST_CASE("hostile safetensors: negative dimension") {
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "F32", "shape": [2, -3], "data_offsets": [0, 8]})"), kData)),
               Catch::Contains("tensor 't': shape must be non-negative, found -3"));
}

TEST_CASE("hostile safetensors: non-integer dimension") {
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]})"), kData)),
               Catch::Contains("non-negative integers, found number 2.5"));
}

TEST_CASE("hostile safetensors: shape product overflows int64") {
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "F32", "shape": [4294967296, 4294967296],)"
                       R"( "data_offsets": [0, 0]})"),
                   kData)),
               Catch::Contains("more elements than fit in int64"));
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "F64", "shape": [2305843009213693952],)"
                       R"( "data_offsets": [0, 0]})"),
                   kData)),
               Catch::Contains("more bytes than fit in 64 bits"));
}

TEST_CASE("hostile safetensors: byte span differs from shape times dtype size") {
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]})"), kData)),
               Catch::Contains("needs 24 bytes but data_offsets [0, 20] span 20"));
}

TEST_CASE("hostile safetensors: begin after end") {
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "F32", "shape": [2], "data_offsets": [16, 8]})"), kData)),
               Catch::Contains("[16, 8] has begin > end"));
}

TEST_CASE("hostile safetensors: offsets out of range") {
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "F32", "shape": [4], "data_offsets": [56, 72]})"), kData)),
               Catch::Contains("run past the end of the data area (64 bytes"));
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "F32", "shape": [0], "data_offsets": [)"
                       R"(18446744073709551615, 18446744073709551615]})"),
                   kData)),
               Catch::Contains("run past the end"));
}

TEST_CASE("hostile safetensors: overlapping spans") {
    std::string header = R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},)"
                         R"( "b": {"dtype": "F64", "shape": [2], "data_offsets": [8, 24]}})";
    CHECK_THAT(load_error(test::safetensors_bytes(header, kData)),
               Catch::Contains("'a' [0, 16) and 'b' [8, 24) overlap"));
}

TEST_CASE("hostile safetensors: duplicate names") {
    std::string header = R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                         R"( "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})";
    CHECK_THAT(load_error(test::safetensors_bytes(header, kData)),
               Catch::Contains("duplicate tensor name 'a'"));
    // A repeated field inside an entry is refused too.
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "F32", "shape": [1], "shape": [2], "data_offsets": [0, 8]})"),
                   kData)),
               Catch::Contains("duplicate key 'shape'"));
}

TEST_CASE("hostile safetensors: metadata not a map of strings") {
    CHECK_THAT(load_error(test::safetensors_bytes(R"({"__metadata__": {"k": 3}})", kData)),
               Catch::Contains("__metadata__ value 'k' must be a string, found number"));
    CHECK_THAT(load_error(test::safetensors_bytes(R"({"__metadata__": ["x"]})", kData)),
               Catch::Contains("__metadata__ must be an object of strings, found array"));
}

TEST_CASE("hostile safetensors: truncated data area") {
    // The header describes 64 MB of float32; the file holds 64 bytes of data.
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "F32", "shape": [4096, 4096],)"
                       R"( "data_offsets": [0, 67108864]})"),
                   kData)),
               Catch::Contains("data_offsets [0, 67108864] run past the end of the data area"));
}

TEST_CASE("hostile safetensors: malformed entries") {
    CHECK_THAT(load_error(test::safetensors_bytes(one(R"({"dtype": "F32", "shape": [1]})"), kData)),
               Catch::Contains("missing field 'data_offsets'"));
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": 1})"),
                   kData)),
               Catch::Contains("unexpected field 'x'"));
    CHECK_THAT(load_error(test::safetensors_bytes(one("[0, 4]"), kData)),
               Catch::Contains("tensor 't': expected an object"));
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": 7, "shape": [1], "data_offsets": [0, 4]})"), kData)),
               Catch::Contains("dtype must be a string, found number"));
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "F32", "shape": 1, "data_offsets": [0, 4]})"), kData)),
               Catch::Contains("shape must be an array"));
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]})"), kData)),
               Catch::Contains("data_offsets must be an array [begin, end]"));
    std::string deep = std::string(100, '[') + std::string(100, ']');
    CHECK_THAT(load_error(test::safetensors_bytes(R"({"t": )" + deep + "}", kData)),
               Catch::Contains("nests deeper"));
}

TEST_CASE("a truncated copy of a valid file is refused") {
    TempDir dir;
    const std::string good = dir.file("good.safetensors");
    save_safetensors(good, {{"w", ones({256, 256})}, {"b", zeros({256})}});
    const std::string bytes = test::read_bytes(good);
    // Cut everywhere interesting: in the length, in the header, in the data.
    for (size_t cut : {size_t{0}, size_t{3}, size_t{8}, size_t{20}, bytes.size() / 2,
                       bytes.size() - 1}) {
        INFO("cut at " << cut);
        CHECK_FALSE(load_error(bytes.substr(0, cut)).empty());
    }
}

TEST_CASE("hostile safetensors: names with terminal escapes or bad UTF-8 are printed escaped") {
    // ESC [31m (red) and BEL in a tensor name, JSON-escaped in the header as \u001b and \u0007:
    const std::string evil = R"({"\u001b[31mred\u0007": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}})";
    std::string header = evil;
    std::string m = load_error(test::le64(header.size()) + header + kData);
    CHECK_THAT(m, Catch::Contains("\\x1B[31mred\\x07"));
    CHECK(m.find('\x1b') == std::string::npos);
    CHECK(m.find('\x07') == std::string::npos);
    // Raw invalid UTF-8 in the header: the parser's excerpt of it must not reach the terminal raw.
    header = "{\"\xFF\xFE\x1B\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}";
    m = load_error(test::le64(header.size()) + header + kData);
    CHECK(m.find('\xFF') == std::string::npos);
    CHECK(m.find('\x1b') == std::string::npos);
}

TEST_CASE("hostile safetensors: every truncation point of a small checkpoint is refused") {
    // A checkpoint in miniature: model, optimizer and scheduler tensors of every stored dtype,
    // and the metadata a training checkpoint carries.
    TempDir dir;
    const std::string good = dir.file("checkpoint.safetensors");
    save_safetensors(good,
                     {{"model.conv.weight", full({2, 1, 3, 3}, 0.5)},
                      {"model.bn.running_var", ones({2}, DType::Float64)},
                      {"optimizer.state.0.momentum_buffer", zeros({2, 1, 3, 3})},
                      {"scheduler.step", full({1}, 7.0, DType::Int64)},
                      {"epoch", full({1}, 1.0, DType::Int64)}},
                     {{"format", "cardinal-checkpoint"},
                      {"options", R"({"optimizer": "sgd", "epochs": 2})"},
                      {"history", "[]"}});
    const std::string bytes = test::read_bytes(good);
    REQUIRE(load_safetensors(good).tensors.size() == 5);
    // Every prefix, from the empty file to one byte short: the length field, every byte of the
    // header JSON, every byte of the data area.
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
        INFO("cut at " << cut << " of " << bytes.size());
        CHECK_FALSE(load_error(bytes.substr(0, cut)).empty());
    }
}

TEST_CASE("hostile safetensors: header length over the 100 MB cap") {
    // A sparse file just over the cap, so the length field is not "beyond the file".
    TempDir dir;
    const std::string path = dir.file("huge_header.safetensors");
    const uint64_t claimed = (uint64_t{100} << 20) + 1;
    test::write_bytes(path, test::le64(claimed));
    std::filesystem::resize_file(path, 8 + claimed);
    const int64_t reserved_before = allocator_stats().bytes_reserved;
    CHECK_THROWS_WITH(load_safetensors(path),
                      Catch::Contains("header length 104857601 exceeds the limit of 104857600"));
    CHECK(allocator_stats().bytes_reserved - reserved_before < (1 << 20));
}

TEST_CASE("hostile safetensors: spans out of order load; out of order and overlapping do not") {
    TempDir dir;
    const std::string path = dir.file("order.safetensors");
    // 'a' sits after 'b' in the data area: allowed, as the format does not order spans.
    std::string data(16, '\0');
    const float one = 1.0f, two = 2.0f;
    std::memcpy(&data[0], &two, 4);
    std::memcpy(&data[8], &one, 4);
    test::write_bytes(path, test::safetensors_bytes(
                                R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]},)"
                                R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})",
                                data));
    SafetensorsFile f = load_safetensors(path);
    REQUIRE(f.names() == std::vector<std::string>{"a", "b"});
    CHECK(f.get("a").data<float>()[0] == 1.0f);
    CHECK(f.get("b").data<float>()[0] == 2.0f);
    // Listed in reverse and overlapping by one element: refused whatever the listing order.
    CHECK_THAT(load_error(test::safetensors_bytes(
                   R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},)"
                   R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})",
                   kData)),
               Catch::Contains("overlap"));
}

TEST_CASE("hostile safetensors: huge dimensions are refused before any allocation") {
    // 2^40 float32 elements claimed by a 4-byte span, and a shape of 2^62 along one axis.
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "F32", "shape": [1099511627776], "data_offsets": [0, 4]})"),
                   kData)),
               Catch::Contains("needs 4398046511104 bytes"));
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 4]})"),
                   kData)),
               Catch::Contains("more bytes than fit in 64 bits"));
    CHECK_THAT(load_error(test::safetensors_bytes(
                   one(R"({"dtype": "F32", "shape": [18446744073709551616], "data_offsets": [0, 4]})"),
                   kData)),
               Catch::Contains("shape"));
}
