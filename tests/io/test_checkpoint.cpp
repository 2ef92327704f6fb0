// io/checkpoint.h: sections round trip bit for bit, the format tag and version are written and
// checked, a version-less (older) checkpoint still loads, a newer one and a weights file are
// refused by name.
#include <catch2/catch.hpp>
#include <cstring>

#include "io/checkpoint.h"
#include "tensor/error.h"
#include "tests/io/io_test_util.h"

using namespace cardinal;
using cardinal::test::TempDir;

namespace {

bool same_bits(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    Tensor ca = a.contiguous(), cb = b.contiguous();
    return std::memcmp(ca.raw_data(), cb.raw_data(), ca.numel() * dtype_size(ca.dtype())) == 0;
}

Checkpoint sample() {
    Checkpoint c;
    c.model = {{"conv1.weight", from_vector({0.1, -2.5, 3.25, 1e-7}, {2, 2}, DType::Float32)},
               {"bn1.num_batches_tracked", from_vector_i64({7}, {})}};
    c.optimizer = {{"state.0.momentum_buffer", from_vector({1.0, 2.0}, {2}, DType::Float64)}};
    c.scheduler = {{"step", from_vector({12.0}, {}, DType::Float64)}};
    c.rng_seed = 0xfedcba9876543210ull;  // above INT64_MAX: stored as its bit pattern
    c.rng_offset = 99;
    c.epoch = 3;
    c.history = R"([{"epoch":1},{"epoch":2},{"epoch":3}])";
    c.metadata = {{"model", "tiny"}};
    return c;
}

}  // namespace

TEST_CASE("checkpoint: every section round trips bit for bit, tagged with format and version",
          "[io][checkpoint]") {
    TempDir dir;
    const std::string path = dir.file("c.safetensors");
    const Checkpoint c = sample();
    save_checkpoint(path, c);
    SafetensorsFile raw = load_safetensors(path);
    CHECK(is_checkpoint(raw));
    CHECK(raw.metadata.at("format") == "cardinal-checkpoint");
    CHECK(raw.metadata.at("format_version") == std::to_string(kCheckpointFormatVersion));
    CHECK(raw.contains("model.conv1.weight"));
    CHECK(raw.contains("optimizer.state.0.momentum_buffer"));

    const Checkpoint r = load_checkpoint(path);
    REQUIRE(r.model.size() == 2);
    CHECK(r.model[0].first == "conv1.weight");
    CHECK(same_bits(r.model[0].second, c.model[0].second));
    CHECK(same_bits(r.model[1].second, c.model[1].second));
    REQUIRE(r.optimizer.size() == 1);
    CHECK(same_bits(r.optimizer[0].second, c.optimizer[0].second));
    REQUIRE(r.scheduler.size() == 1);
    CHECK(r.scheduler[0].first == "step");
    CHECK(r.rng_seed == c.rng_seed);
    CHECK(r.rng_offset == 99);
    CHECK(r.epoch == 3);
    CHECK(r.history == c.history);
    CHECK(r.meta("model") == "tiny");
    CHECK(r.meta("absent").empty());
    CHECK(r.path == path);
}

TEST_CASE("checkpoint: a version-less file loads, a newer version and a weights file are refused",
          "[io][checkpoint]") {
    TempDir dir;
    const std::string path = dir.file("c.safetensors");
    save_checkpoint(path, sample());
    SafetensorsFile f = load_safetensors(path);

    SECTION("written before the version tag: version 1's layout") {
        f.metadata.erase("format_version");
        const std::string old = dir.file("old.safetensors");
        save_safetensors(old, f.tensors, f.metadata);
        CHECK(load_checkpoint(old).epoch == 3);
    }
    SECTION("a newer version names both versions") {
        f.metadata["format_version"] = "99";
        const std::string newer = dir.file("newer.safetensors");
        save_safetensors(newer, f.tensors, f.metadata);
        CHECK_THROWS_WITH(load_checkpoint(newer),
                          Catch::Contains("format version '99'") &&
                              Catch::Contains("reads version 1"));
    }
    SECTION("a weights-only file is not a checkpoint") {
        const std::string weights = dir.file("model.safetensors");
        save_safetensors(weights, {{"conv1.weight", zeros({2, 2})}}, {{"format", "pt"}});
        CHECK_FALSE(is_checkpoint(load_safetensors(weights)));
        CHECK_THROWS_AS(load_checkpoint(weights), ValueError);
        CHECK_THROWS_WITH(load_checkpoint(weights),
                          Catch::Contains("not a cardinal training checkpoint"));
    }
    SECTION("a missing section tensor is a FormatError naming it") {
        NamedTensors kept;
        for (const auto& kv : f.tensors)
            if (kv.first != "rng.offset") kept.push_back(kv);
        const std::string broken = dir.file("broken.safetensors");
        save_safetensors(broken, kept, f.metadata);
        CHECK_THROWS_WITH(load_checkpoint(broken), Catch::Contains("rng.offset"));
    }
}
