// `cardinal gradcheck`: every entry of --list passes with its defaults (train and eval), the
// deliberately broken op fails, options reach the op, and bad options are one clear line
// with exit code 2.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps/gradcheck_catalog.h"

using namespace cardinal;
using namespace cardinal::apps;
using Catch::Matchers::Contains;

namespace {

struct Cli {
    int code;
    std::string out, err;
};

bool have_cli() { return std::filesystem::exists(std::string(CARDINAL_BINARY_DIR) + "/cardinal"); }

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Cli run_cli(const std::string& args) {
    const auto dir = std::filesystem::temp_directory_path() / "cardinal_test_gradcheck_cli";
    std::filesystem::create_directories(dir);
    const std::string out = (dir / "out.txt").string(), err = (dir / "err.txt").string();
    const std::string bin = std::string(CARDINAL_BINARY_DIR) + "/cardinal";
    const int status = std::system((bin + " gradcheck " + args + " >" + out + " 2>" + err).c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

std::string failures(const CatalogRun& r) {
    std::string s;
    for (size_t i = 0; i < r.tensors.size(); ++i)
        if (!r.result.inputs[i].ok()) s += r.tensors[i].first + " ";
    return s + r.result.message;
}

}  // namespace

TEST_CASE("gradcheck catalog: every op passes with its defaults", "[apps][gradcheck_cli]") {
    for (const CatalogEntry& e : gradcheck_ops()) {
        CatalogRun r = run_catalog_entry(e, {}, e.default_shape, false, e.fast_by_default, 0);
        INFO(e.name << ": " << failures(r));
        REQUIRE(r.result.inputs.size() == r.tensors.size());
        CHECK(r.result.ok == !e.deliberately_broken);
    }
    // batch_norm2d in eval mode reads the running statistics.
    const CatalogEntry& bn = find_entry(gradcheck_ops(), "batch_norm2d", "op");
    CatalogRun r = run_catalog_entry(bn, {}, bn.default_shape, true, false, 3);
    INFO(failures(r));
    CHECK(r.result.ok);
}

TEST_CASE("gradcheck catalog: every block passes, train and eval", "[apps][gradcheck_cli]") {
    for (const CatalogEntry& e : gradcheck_blocks())
        for (bool eval : {false, true}) {
            CatalogRun r = run_catalog_entry(e, {}, e.default_shape, eval, true, 0);
            INFO(e.name << (eval ? " eval: " : " train: ") << failures(r));
            CHECK(r.result.ok);
            CHECK(r.tensors.size() > 1);  // the input and the parameters
        }
}

TEST_CASE("gradcheck catalog: options reach the op and the block", "[apps][gradcheck_cli]") {
    struct Case {
        const char* name;
        bool is_op;
        std::vector<std::string> sets;
        Shape shape;
    };
    const std::vector<Case> cases = {
        {"conv2d",
         true,
         {"groups=2", "stride=2", "padding=2", "dilation=2", "out=6"},
         {2, 4, 7, 7}},
        {"rectified_conv2d", true, {"average=true", "stride=2"}, {1, 2, 5, 5}},
        {"max_pool2d", true, {"ceil_mode=true", "dilation=2", "padding=1"}, {1, 2, 7, 7}},
        {"avg_pool2d", true, {"count_include_pad=false", "ceil_mode=true"}, {1, 2, 6, 6}},
        {"SplitAttn", false, {"radix=2", "groups=2"}, {2, 8, 5, 5}},
        {"SplitAttn", false, {"radix=1", "groups=2", "stride=2"}, {2, 8, 5, 5}},
        {"SelectiveKernel",
         false,
         {"kernels=3,5,7", "split_input=false", "stride=2"},
         {2, 6, 6, 6}},
        {"ResNestBottleneck",
         false,
         {"avd=true", "stride=2", "radix=2", "cardinality=2"},
         {2, 16, 6, 6}},
        {"ResNestBottleneck",
         false,
         {"avd=true", "avd_first=true", "stride=2", "downsample=avg"},
         {2, 16, 6, 6}},
        {"Bottleneck",
         false,
         {"attn=se", "stride=2", "drop_path_rate=0.5", "drop_block_rate=0.2"},
         {2, 16, 6, 6}},
        {"seed.SplAtConv2d",
         false,
         {"rectify=true", "groups=2", "radix=2", "dropblock_prob=0.2"},
         {2, 8, 5, 5}},
        {"seed.SKConv", false, {"M=3", "stride=2"}, {2, 32, 5, 5}},
    };
    for (const Case& c : cases) {
        const CatalogEntry& e = c.is_op ? find_entry(gradcheck_ops(), c.name, "op")
                                        : find_entry(gradcheck_blocks(), c.name, "block");
        CatalogRun r = run_catalog_entry(e, c.sets, c.shape, false, !c.is_op, 5);
        INFO(c.name << " " << r.settings << ": " << failures(r));
        CHECK(r.result.ok);
    }
    // The settings are the ones asked for.
    const CatalogEntry& conv = find_entry(gradcheck_ops(), "conv2d", "op");
    CatalogRun r = run_catalog_entry(conv, {"groups=2", "out=6"}, {2, 4, 5, 5}, false, false, 0);
    CHECK_THAT(r.settings, Contains("groups=2") && Contains("out=6"));
    CHECK(r.tensors[1].second.shape() == Shape{6, 2, 3, 3});  // weight [out, C / groups, k, k]
}

TEST_CASE("gradcheck catalog: impossible options are usage errors", "[apps][gradcheck_cli]") {
    const CatalogEntry& conv = find_entry(gradcheck_ops(), "conv2d", "op");
    CHECK_THROWS_WITH(run_catalog_entry(conv, {"groups=3"}, {2, 4, 5, 5}, false, false, 0),
                      Contains("not divisible by groups=3"));
    CHECK_THROWS_WITH(run_catalog_entry(conv, {"colour=red"}, {2, 4, 5, 5}, false, false, 0),
                      Contains("has no option 'colour'") && Contains("groups"));
    CHECK_THROWS_WITH(run_catalog_entry(conv, {"groups=two"}, {2, 4, 5, 5}, false, false, 0),
                      Contains("must be an integer"));
    CHECK_THROWS_WITH(run_catalog_entry(conv, {}, {2, 4}, false, false, 0), Contains("N,C,H,W"));
    const CatalogEntry& splat = find_entry(gradcheck_blocks(), "SplitAttn", "block");
    CHECK_THROWS_AS(run_catalog_entry(splat, {"groups=2", "radix=2"}, {2, 6, 5, 5}, false, true, 0),
                    UsageError);
    CHECK_THROWS_WITH(find_entry(gradcheck_blocks(), "SplitAtn", "block"),
                      Contains("unknown block 'SplitAtn'"));
}

TEST_CASE("cardinal gradcheck: report, verdict and exit codes", "[apps][gradcheck_cli]") {
    if (!have_cli()) {
        WARN("the cardinal binary is not built: skipped");
        return;
    }
    Cli r = run_cli("--op conv2d --set groups=2 --set stride=2 --shape 2,4,6,6");
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Contains("PASS") && Contains("weight") && Contains("max abs err") &&
                          Contains("groups=2"));

    r = run_cli("--op broken_sigmoid");
    CHECK(r.code == 1);
    CHECK_THAT(r.out, Contains("FAIL") && Contains("MISMATCH"));

    r = run_cli("--list");
    CHECK(r.code == 0);
    for (const auto* entries : {&gradcheck_ops(), &gradcheck_blocks()})
        for (const CatalogEntry& e : *entries) CHECK_THAT(r.out, Contains(e.name));
    CHECK_THAT(r.out, Contains("--set radix=2"));

    for (const char* bad :
         {"--op nonsense", "--op conv2d --set groups=3", "--block SplitAttn --set radix=x",
          "--op conv2d --set colour=red", "--op conv2d --shape 2,0,3", "--op relu --block SEModule",
          "--op relu --fast --full", "--block SplitAttn --set groups=2 --shape 2,6,5,5"}) {
        r = run_cli(bad);
        INFO(bad << " -> " << r.err);
        CHECK(r.code == 2);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
    r = run_cli("--frobnicate");  // CLI11's own parse errors are usage errors too
    CHECK(r.code == 2);
}
