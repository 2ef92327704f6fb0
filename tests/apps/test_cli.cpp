// The built `cardinal` binary: bad flags end with one clear line on stderr and a non-zero exit.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps_test_util.h"

namespace {

struct Outcome {
    int code;
    std::string err;
};

Outcome run_cli(const std::string& args) {
    const std::string bin = std::string(CARDINAL_BINARY_DIR) + "/cardinal";
    const std::string err = cardinal::apps::testing::temp_dir("cli") + "/stderr.txt";
    const int status = std::system((bin + " " + args + " >/dev/null 2>" + err).c_str());
    std::ifstream in(err);
    std::stringstream ss;
    ss << in.rdbuf();
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ss.str()};
}

}  // namespace

using Catch::Matchers::Contains;

TEST_CASE("cli: train and eval reject bad flags with one line", "[apps][cli]") {
    if (!std::filesystem::exists(std::string(CARDINAL_BINARY_DIR) + "/cardinal")) {
        WARN("the cardinal binary is not built: skipped");
        return;
    }
    Outcome r = run_cli("train --epochs 0 --out /tmp/cardinal_cli_x");
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Contains("--epochs must be at least 1, got 0"));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);

    r = run_cli("train --epochs three --out /tmp/cardinal_cli_x");
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Contains("--epochs"));

    r = run_cli("train --model resnet9000 --out /tmp/cardinal_cli_x");
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Contains("unknown model 'resnet9000'"));

    r = run_cli("train --model resnest_small --config x.json --out /tmp/cardinal_cli_x");
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Contains("not both"));

    r = run_cli("train --data fashion-mnist:/nonexistent/fm --out /tmp/cardinal_cli_x");
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Contains("dataset-fashion-mnist"));

    r = run_cli("train --resume /nonexistent/ck.safetensors");
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Contains("--resume /nonexistent/ck.safetensors: no such file"));

    r = run_cli("train --recipe fancy --out /tmp/cardinal_cli_x");
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Contains("--recipe"));

    r = run_cli("eval --model resnest_small --weights /nonexistent/w.safetensors");
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Contains("--weights /nonexistent/w.safetensors: no such file"));
}
