// `cardinal models`: every architecture with timm's tags; --json is JSON Lines with the measured
// parameters and GMACs and the default tag's eval config.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/apps/cli_run.h"

using cardinal::test::cardinal_run;
using cardinal::test::TempDir;

TEST_CASE("cardinal models lists every tag and marks the default", "[models][cli]") {
    TempDir dir;
    cardinal::test::CliRun r = cardinal_run(dir, "models");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("resnext50_32x4d.a1h_in1k") != std::string::npos);
    CHECK(r.out.find("resnext50_32x4d.tv2_in1k") != std::string::npos);
    CHECK(r.out.find("(default)") != std::string::npos);
    CHECK(r.out.find("resnest_small") != std::string::npos);
}

TEST_CASE("cardinal models --json prints one JSON object per line", "[models][cli]") {
    TempDir dir;
    cardinal::test::CliRun r =
        cardinal_run(dir, "models --json --model resnest14d --model resnest_small");
    INFO(r.err);
    REQUIRE(r.status == 0);
    std::istringstream in(r.out);
    std::string line;
    std::vector<nlohmann::json> rows;
    while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
    REQUIRE(rows.size() == 2);
    const nlohmann::json& big = rows[0];
    CHECK(big["name"] == "resnest14d");
    CHECK(big["parameters"] == 10611688);  // docs/timm-configs.md section 10
    CHECK(big["gmacs"].get<double>() == Approx(2.749).epsilon(1e-3));
    CHECK(big["default_tag"] == "resnest14d.gluon_in1k");
    CHECK(big["pretrained_cfg"]["interpolation"] == "bilinear");
    CHECK(big["pretrained_cfg"]["input_size"] == nlohmann::json({3, 224, 224}));
    CHECK(big["config"]["block"] == "ResNestBottleneck");
    const nlohmann::json& small = rows[1];
    CHECK(small["name"] == "resnest_small");
    CHECK(small["default_tag"].is_null());
    CHECK(small["tags"].empty());
    CHECK(small["input_size"] == nlohmann::json({1, 28, 28}));

    r = cardinal_run(dir, "models --model resnest14d.no_such_tag");
    CHECK(r.status != 0);
    CHECK(r.err.find("no_such_tag") != std::string::npos);
}
