// safetensors: round trips, half-precision decoding, the reference fixture, atomic writes.
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <csignal>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "tensor/error.h"
#include "tests/io/io_test_util.h"

using namespace cardinal;
using cardinal::test::TempDir;

namespace {

// Same dtype, shape and bytes.
bool bit_equal(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    Tensor ca = a.contiguous(), cb = b.contiguous();
    return std::memcmp(ca.raw_data(), cb.raw_data(), ca.numel() * dtype_size(ca.dtype())) == 0;
}

std::string le16s(const std::vector<uint16_t>& values) {
    std::string s;
    for (uint16_t v : values) {
        s.push_back(static_cast<char>(v & 0xff));
        s.push_back(static_cast<char>(v >> 8));
    }
    return s;
}

}  // namespace

TEST_CASE("safetensors round trip is bit exact for f32, f64, i64, 0-d and empty tensors") {
    TempDir dir;
    const std::string path = dir.file("t.safetensors");
    Tensor f32 = from_vector({1.5, -0.0, 3.25e-30, 1e30, 7.0, -2.0}, {2, 3}, DType::Float32);
    f32.data<float>()[1] = std::numeric_limits<float>::quiet_NaN();
    f32.data<float>()[4] = std::numeric_limits<float>::denorm_min();
    Tensor f64 = from_vector({0.1, -1e-300, 1e300, std::numeric_limits<double>::infinity()}, {4, 1},
                             DType::Float64);
    Tensor i64 = from_vector_i64({std::numeric_limits<int64_t>::min(), -1, 0,
                                  std::numeric_limits<int64_t>::max()}, {2, 2});
    Tensor scalar = scalar_tensor(42.5, DType::Float64);
    Tensor none = empty({0, 3}, DType::Float32);
    NamedTensors in = {{"z.weight", f32}, {"a.bias", f64}, {"m.count", i64},
                       {"scalar", scalar}, {"empty", none}};
    std::map<std::string, std::string> meta = {{"format", "pt"}, {"spec", "{\"a\": [1, 2]}"},
                                               {"empty", ""}};
    save_safetensors(path, in, meta);

    SafetensorsFile out = load_safetensors(path);
    REQUIRE(out.tensors.size() == in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        INFO(in[i].first);
        CHECK(out.tensors[i].first == in[i].first);  // header order = given order
        CHECK(bit_equal(out.tensors[i].second, in[i].second));
    }
    CHECK(out.metadata == meta);
    CHECK(out.get("scalar").dim() == 0);
    CHECK(out.get("scalar").item() == 42.5);
    CHECK(out.get("empty").shape() == Shape{0, 3});
    CHECK(out.contains("a.bias"));
    CHECK_FALSE(out.contains("nope"));

    // Layout: 8-byte length, header padded to 8 bytes, then exactly the data.
    std::string bytes = test::read_bytes(path);
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    CHECK(n % 8 == 0);
    CHECK(bytes.size() == 8 + n + (6 * 4 + 4 * 8 + 4 * 8 + 8));
    CHECK(dir.entries() == std::vector<std::string>{"t.safetensors"});
}

TEST_CASE("safetensors writes non-contiguous tensors contiguously") {
    TempDir dir;
    Tensor base = arange(0.0, 12.0, 1.0, DType::Float64).view({3, 4});
    Tensor t = base.transpose(0, 1).slice(0, 1, 4);  // [3, 3], strided
    REQUIRE_FALSE(t.is_contiguous());
    save_safetensors(dir.file("nc.safetensors"), {{"t", t}});
    Tensor back = load_safetensors(dir.file("nc.safetensors")).get("t");
    CHECK(back.shape() == Shape{3, 3});
    CHECK(back.to_vector() == t.to_vector());
}

TEST_CASE("safetensors loads only the requested names") {
    TempDir dir;
    const std::string path = dir.file("sel.safetensors");
    save_safetensors(path, {{"a", ones({2})}, {"b", zeros({3})}, {"c", full({1}, 5.0)}});
    LoadOptions opt;
    opt.names = {"c", "a"};
    SafetensorsFile f = load_safetensors(path, opt);
    REQUIRE(f.names() == std::vector<std::string>{"c", "a"});
    CHECK(f.get("c").item() == 5.0);
    opt.names = {"a", "missing"};
    CHECK_THROWS_WITH(load_safetensors(path, opt), Catch::Contains("no tensor named 'missing'"));
    try {
        f.get("b");
        FAIL("get of an unloaded name must throw");
    } catch (const FormatError& e) {
        CHECK_THAT(e.what(), Catch::Contains("sel.safetensors") && Catch::Contains("'b'"));
    }
}

TEST_CASE("safetensors decodes F16 and BF16 bit patterns to float32") {
    TempDir dir;
    const std::string path = dir.file("half.safetensors");
    std::vector<uint16_t> f16 = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x0400,
                                 0x8000, 0x7C00, 0xFC00, 0x7E00, 0x3555, 0x8001};
    std::vector<uint16_t> bf16 = {0x3F80, 0xC040, 0x7F80, 0xFF80, 0x7FC0, 0x0001, 0x4049, 0x8000};
    std::string data = le16s(f16) + le16s(bf16);
    std::string header = R"({"h": {"dtype": "F16", "shape": [3, 4], "data_offsets": [0, 24]},)"
                         R"( "b": {"dtype": "BF16", "shape": [8], "data_offsets": [24, 40]}})";
    test::write_bytes(path, test::safetensors_bytes(header, data));
    SafetensorsFile f = load_safetensors(path);
    Tensor h = f.get("h");
    REQUIRE(h.dtype() == DType::Float32);
    REQUIRE(h.shape() == Shape{3, 4});
    const float* p = h.data<float>();
    CHECK(p[0] == 1.0f);
    CHECK(p[1] == -2.0f);
    CHECK(p[2] == 65504.0f);
    CHECK(p[3] == std::ldexp(1.0f, -24));         // smallest subnormal
    CHECK(p[4] == std::ldexp(1023.0f, -24));      // largest subnormal
    CHECK(p[5] == std::ldexp(1.0f, -14));         // smallest normal
    CHECK((p[6] == 0.0f && std::signbit(p[6])));  // -0
    CHECK((std::isinf(p[7]) && p[7] > 0));
    CHECK((std::isinf(p[8]) && p[8] < 0));
    CHECK(std::isnan(p[9]));
    CHECK(p[10] == 0.333251953125f);
    CHECK(p[11] == -std::ldexp(1.0f, -24));
    Tensor b = f.get("b");
    REQUIRE(b.dtype() == DType::Float32);
    const float* q = b.data<float>();
    CHECK(q[0] == 1.0f);
    CHECK(q[1] == -3.0f);
    CHECK((std::isinf(q[2]) && q[2] > 0));
    CHECK((std::isinf(q[3]) && q[3] < 0));
    CHECK(std::isnan(q[4]));
    CHECK(q[5] == std::ldexp(1.0f, -133));  // bf16 subnormal
    CHECK(q[6] == 3.140625f);
    CHECK((q[7] == 0.0f && std::signbit(q[7])));
    // Every half value round-trips through the formula value = (-1)^s 2^(e-15) (1 + m/1024).
    for (uint32_t bits = 0; bits < 0x7C00; ++bits) {
        uint32_t e = bits >> 10, m = bits & 0x3ff;
        float want = e == 0 ? std::ldexp(float(m), -24) : std::ldexp(1.0f + m / 1024.0f, e - 15);
        if (half_to_float(static_cast<uint16_t>(bits)) != want) {
            INFO("half bits " << bits);
            CHECK(half_to_float(static_cast<uint16_t>(bits)) == want);
            break;
        }
    }
}

TEST_CASE("safetensors reads the reference fixture mod_se") {
    const std::string path = std::string(CARDINAL_TEST_DATA) + "/mod_se.safetensors";
    SafetensorsFile f = load_safetensors(path);
    CHECK(f.tensors.size() == 13);
    CHECK(f.tensors.front().first == "fc1.weight");
    CHECK(f.tensors.back().first == "grad.fc2.bias");
    CHECK(f.get("fc1.weight").shape() == Shape{8, 64, 1, 1});
    CHECK(f.get("fc1.weight").dtype() == DType::Float64);
    CHECK(f.get("input").shape() == Shape{4, 64, 5, 5});
    CHECK(f.get("fc2.bias").shape() == Shape{64});
    // Values read with Python's struct from the same bytes.
    CHECK(f.get("fc1.bias").at({0}) == -0.03446181118488312);
    CHECK(f.get("input").at({0, 0, 1, 2}) == 1.1054839847672102);
    CHECK(f.get("grad.fc2.bias").at({63}) == -2.9595207878320275);
    REQUIRE(f.metadata.count("spec"));
    CHECK(f.metadata.at("name") == "mod_se");
    auto spec = nlohmann::json::parse(f.metadata.at("spec"));
    CHECK(spec["kwargs"]["channels"] == 64);
    CHECK(f.metadata.count("state_dict_keys") == 1);
}

TEST_CASE("save_safetensors into a missing directory throws and leaves no file") {
    TempDir dir;
    const std::string path = dir.file("missing/sub/w.safetensors");
    CHECK_THROWS_AS(save_safetensors(path, {{"a", ones({2})}}), FormatError);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "missing"));
    CHECK(dir.entries().empty());
}

TEST_CASE("save_safetensors refuses bad arguments before creating any file") {
    TempDir dir;
    const std::string path = dir.file("w.safetensors");
    CHECK_THROWS_WITH(save_safetensors(path, {{"a", ones({1})}, {"a", ones({1})}}),
                      Catch::Contains("duplicate tensor name 'a'"));
    CHECK_THROWS_WITH(save_safetensors(path, {{"a", ones({1})}, {"b", Tensor()}}),
                      Catch::Contains("'b' is undefined"));
    CHECK_THROWS_AS(save_safetensors(path, {{"__metadata__", ones({1})}}), ValueError);
    CHECK(dir.entries().empty());
}

TEST_CASE("an interrupted save leaves neither a partial target nor a temporary file") {
    TempDir dir;
    const std::string path = dir.file("w.safetensors");
    test::write_bytes(path, "previous contents");
    // Limit the size of files this process may write, so that the save fails half-way through
    // writing its 4 MB of data (the kernel then returns EFBIG instead of raising SIGXFSZ).
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit old_limit{};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    rlimit small = old_limit;
    small.rlim_cur = 64 * 1024;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
    bool threw = false;
    std::string message;
    try {
        save_safetensors(path, {{"big", zeros({1024, 1024})}});
    } catch (const FormatError& e) {
        threw = true;
        message = e.what();
    }
    setrlimit(RLIMIT_FSIZE, &old_limit);
    std::signal(SIGXFSZ, old_handler);
    CHECK(threw);
    CHECK_THAT(message, Catch::Contains("w.safetensors"));
    CHECK(test::read_bytes(path) == "previous contents");
    CHECK(dir.entries() == std::vector<std::string>{"w.safetensors"});
    // Without the limit the same save replaces the target.
    save_safetensors(path, {{"big", zeros({1024, 1024})}});
    CHECK(load_safetensors(path).get("big").shape() == Shape{1024, 1024});
    CHECK(dir.entries() == std::vector<std::string>{"w.safetensors"});
}

TEST_CASE("load_safetensors reports a missing file and a directory") {
    TempDir dir;
    CHECK_THROWS_WITH(load_safetensors(dir.file("nope.safetensors")),
                      Catch::Contains("nope.safetensors") && Catch::Contains("cannot open"));
    CHECK_THROWS_AS(load_safetensors(dir.path().string()), FormatError);
}
