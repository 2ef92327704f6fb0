// The built `cardinal` binary: bad flags end with one clear line on stderr and a non-zero exit.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps_test_util.h"
#include "models/resnet.h"
#include "models/weights.h"

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

TEST_CASE("cli: usage errors exit 2 with one line naming the fault", "[apps][cli]") {
    if (!std::filesystem::exists(std::string(CARDINAL_BINARY_DIR) + "/cardinal")) {
        WARN("the cardinal binary is not built: skipped");
        return;
    }
    const std::string out = cardinal::apps::testing::temp_dir("cli_usage") + "/out";
    struct Case {
        std::string args, expected;
    };
    const std::vector<Case> usage{
        {"trian", "unknown command 'trian'; did you mean 'train'?"},
        {"evl --batch 4", "unknown command 'evl'; did you mean 'eval'?"},
        {"frobnicate", "unknown command 'frobnicate' (run 'cardinal --help'"},
        {"", "A subcommand is required"},
        {"train --model resnest_smal --out " + out,
         "unknown model 'resnest_smal'; did you mean 'resnest_small'?"},
        {"graph --model seresnext_smal", "did you mean 'seresnext_small'?"},
        {"bench --model skresnext_smol --iters 1", "did you mean 'skresnext_small'?"},
        {"models resnest_smal", "unknown model 'resnest_smal'; did you mean 'resnest_small'?"},
        {"models --model resnest50 --json", "did you mean 'resnest50d'?"},
        {"models resnest50d.in1j", "unknown tag 'in1j' of model 'resnest50d'; did you mean 'in1k'?"},
        {"infer --model resnest_smal --input x.png",
         "unknown model 'resnest_smal'; did you mean 'resnest_small'?"},
        {"infer --model seresnext50_32x4 --input x.png --weights w.safetensors",
         "did you mean 'seresnext50_32x4d'?"},
        {"train --epochs 0 --out " + out, "--epochs must be at least 1, got 0"},
        {"train --batch -3 --out " + out, "--batch must be at least 1, got -3"},
        {"train --lr -0.1 --out " + out, "--lr must be a positive number"},
        {"train --lr abc --out " + out, "--lr: 'abc' is not a valid number"},
        {"train --epochs 2x --out " + out, "--epochs: '2x' is not a valid number"},
        {"eval --batch 0 --weights w.safetensors", "--batch must be at least 1, got 0"},
        {"eval --batch many --weights w.safetensors", "--batch: 'many' is not a valid number"},
        {"bench --model resnest_small --size 0", "--size must be H or HxW"},
        {"bench --model resnest_small --batch 0", "--batch must be at least 1, got 0"},
        {"train --no-such-flag --out " + out, "--no-such-flag"},
        {"train --detect-anomaly --skip-nonfinite --out " + out,
         "--detect-anomaly stops at the first NaN/Inf, so it cannot be combined with "
         "--skip-nonfinite"},
    };
    for (const Case& c : usage) {
        INFO("cardinal " << c.args);
        const Outcome r = run_cli(c.args);
        CHECK(r.code == 2);
        CHECK_THAT(r.err, Contains(c.expected));
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
}

TEST_CASE("cli: strings from files reach the terminal escaped", "[apps][cli]") {
    if (!std::filesystem::exists(std::string(CARDINAL_BINARY_DIR) + "/cardinal")) {
        WARN("the cardinal binary is not built: skipped");
        return;
    }
    const std::string dir = cardinal::apps::testing::temp_dir("cli_escape");
    struct Case {
        std::string flag, text, expected;
    };
    // A terminal escape through a JSON \u escape (the parsed string holds a raw ESC), an
    // invalid UTF-8 byte the JSON parser quotes in its own message, a raw ESC it quotes.
    const std::vector<Case> cases{
        {"--recipe", "{\"x\\u001b[31m\": 1}", "unknown option 'x\\x1B[31m'"},
        {"--config", "{\"block\": \"B\\u001b[2J\"}", "unknown block 'B\\x1B[2J'"},
        {"--config", "{\"block\": \"B\", \"k\\u0007\": 1}", "unknown key 'k\\x07'"},
        {"--recipe", "{\"lr\": \"\xff\"}", "ill-formed UTF-8 byte; last read: '\"\\xFF'"},
        {"--recipe", "{\"lr\": \"\x1b[31m\"}", "not valid JSON"},
    };
    int i = 0;
    for (const Case& c : cases) {
        const std::string path = dir + "/f" + std::to_string(i++) + ".json";
        std::ofstream(path, std::ios::binary) << c.text;
        INFO(c.flag << " " << c.text);
        const Outcome r = run_cli("train " + c.flag + " " + path + " --out " + dir + "/out");
        CHECK(r.code != 0);
        CHECK_THAT(r.err, Contains(c.expected));
        for (char ch : r.err) {
            const auto b = static_cast<unsigned char>(ch);
            CHECK((b == '\n' || (b >= 0x20 && b < 0x7F)));  // every message here is ASCII
        }
    }
}

TEST_CASE("cli: missing files and unwritable outputs are one line and exit 1", "[apps][cli]") {
    if (!std::filesystem::exists(std::string(CARDINAL_BINARY_DIR) + "/cardinal")) {
        WARN("the cardinal binary is not built: skipped");
        return;
    }
    const std::string dir = cardinal::apps::testing::temp_dir("cli_files");
    {
        std::ofstream(dir + "/file") << "not a directory";
    }
    struct Case {
        std::string args, expected;
    };
    const std::vector<Case> runtime{
        {"eval --model resnest_small --weights " + dir + "/missing.safetensors",
         "missing.safetensors: no such file"},
        {"train --resume " + dir + "/missing.safetensors", "missing.safetensors: no such file"},
        // An output directory below a regular file cannot be created.
        {"train --limit-train 8 --limit-test 8 --epochs 1 --out " + dir +
             "/file/out",
         "cannot create the directory"},
    };
    for (const Case& c : runtime) {
        INFO("cardinal " << c.args);
        const Outcome r = run_cli(c.args);
        CHECK(r.code == 1);
        CHECK_THAT(r.err, Contains(c.expected));
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
}

TEST_CASE("cli: eval with weights of another model names the keys in one line", "[apps][cli]") {
    if (!std::filesystem::exists(std::string(CARDINAL_BINARY_DIR) + "/cardinal")) {
        WARN("the cardinal binary is not built: skipped");
        return;
    }
    const std::string path = cardinal::apps::testing::temp_dir("cli_eval_fit") + "/other.safetensors";
    cardinal::save_weights(*cardinal::create_model("resnext_small"), path);
    const Outcome r = run_cli("eval --model resnest_small --limit-test 8 --weights " + path);
    INFO(r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("load_state_dict: --weights " + path +
                               " (model 'resnest_small') does not fit this ResNet; "));
    CHECK_THAT(r.err, Contains("missing keys (") && Contains("unexpected keys ("));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}
