// `cardinal graph`: DOT of a block's graph, --values labels, SVG through Graphviz when it is
// installed, and a clear message when `dot` is missing.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using Catch::Matchers::Contains;

namespace {

struct Cli {
    int code;
    std::string out, err;
};

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string dir() {
    const auto d = std::filesystem::temp_directory_path() / "cardinal_test_graph_cli";
    std::filesystem::create_directories(d);
    return d.string();
}

Cli run_cli(const std::string& args, const std::string& env = "") {
    const std::string out = dir() + "/out.txt", err = dir() + "/err.txt";
    const std::string bin = std::string(CARDINAL_BINARY_DIR) + "/cardinal";
    const int status =
        std::system((env + " " + bin + " graph " + args + " >" + out + " 2>" + err).c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

}  // namespace

TEST_CASE("cardinal graph: DOT, values, SVG and a missing dot", "[apps][graph_cli]") {
    if (!std::filesystem::exists(std::string(CARDINAL_BINARY_DIR) + "/cardinal")) {
        WARN("the cardinal binary is not built: skipped");
        return;
    }
    Cli r = run_cli("--block SEModule");
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Contains("digraph autograd") && Contains("SigmoidBackward") &&
                          Contains("fc1.weight"));
    CHECK_THAT(r.out, !Contains("|grad|") && !Contains("saved "));

    r = run_cli("--block SplitAttn --set radix=2 --set groups=2 --values");
    CHECK(r.code == 0);
    CHECK_THAT(r.out,
               Contains("SoftmaxBackward") && Contains("#0  |grad|") && Contains("conv.weight"));
    // Saved bytes on every backward node (a leaf saves nothing and shows none).
    CHECK_THAT(r.out, Contains("\\nsaved ") && Contains(" B\""));

    const std::string svg = dir() + "/se.svg";
    std::filesystem::remove(svg);
    if (std::system("command -v dot >/dev/null 2>&1") == 0) {
        r = run_cli("--block SEModule --out " + svg);
        CHECK(r.code == 0);
        CHECK_THAT(slurp(svg), Contains("<svg"));
    } else {
        WARN("Graphviz dot is not installed: the SVG rendering was not tried");
    }
    // Without dot on PATH: one line that says what to install, and no file.
    const std::string missing = dir() + "/missing.svg";
    r = run_cli("--block SEModule --format svg --out " + missing, "PATH=/nonexistent");
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("Graphviz") && Contains("apt-get install graphviz"));
    CHECK_FALSE(std::filesystem::exists(missing));

    r = run_cli("--block SEModule --format png");
    CHECK(r.code == 2);
    r = run_cli("--block SEModule --model resnest14d");
    CHECK(r.code == 2);
    r = run_cli("--block Nope");
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("unknown block 'Nope'"));
}
