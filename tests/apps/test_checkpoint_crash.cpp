// Crash safety of `cardinal train --checkpoint-every N`: the real binary is killed with SIGKILL
// at random moments (most of them while it trains or writes a checkpoint), at least 50 times;
// after every kill the newest checkpoint loads, and resuming from it ends with weights
// bit-identical to an uninterrupted run. A write error while checkpointing (the file-size limit
// standing in for a full disk) stops the run with one clear line and leaves the previous
// checkpoint untouched.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <catch2/catch.hpp>

#include "apps/trainer.h"
#include "io/safetensors.h"
#include "tests/apps/cli_run.h"

namespace fs = std::filesystem;
using namespace cardinal;
using Clock = std::chrono::steady_clock;

namespace {

// A small MNIST-format data set (uncompressed IDX), so each start of the binary is quick.
void write_idx(const std::string& path, const std::vector<uint32_t>& dims,
               const std::vector<uint8_t>& data) {
    std::ofstream f(path, std::ios::binary);
    const uint8_t magic[4] = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
    f.write(reinterpret_cast<const char*>(magic), 4);
    for (uint32_t d : dims) {
        const uint8_t be[4] = {uint8_t(d >> 24), uint8_t(d >> 16), uint8_t(d >> 8), uint8_t(d)};
        f.write(reinterpret_cast<const char*>(be), 4);
    }
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

void write_dataset(const std::string& dir, uint32_t train, uint32_t test) {
    fs::create_directories(dir);
    std::mt19937 rng(7);
    for (auto [name, n] : {std::pair<std::string, uint32_t>{"train", train}, {"t10k", test}}) {
        std::vector<uint8_t> pixels(size_t(n) * 28 * 28), labels(n);
        for (uint32_t i = 0; i < n; ++i) {
            labels[i] = static_cast<uint8_t>(i % 10);
            // A bright bar whose row depends on the class, over noise: learnable, not trivial.
            for (int y = 0; y < 28; ++y)
                for (int x = 0; x < 28; ++x)
                    pixels[(size_t(i) * 28 + y) * 28 + x] = static_cast<uint8_t>(
                        (y / 3 == labels[i] ? 160 : 0) + rng() % 96);
        }
        write_idx(dir + "/" + name + "-images-idx3-ubyte", {n, 28, 28}, pixels);
        write_idx(dir + "/" + name + "-labels-idx1-ubyte", {n}, labels);
    }
}

struct Child {
    pid_t pid = -1;
    int out_fd = -1;  // the child's stdout
};

// Starts `cardinal <args>` with stdout on a pipe and stderr in `err_path`. `file_size_limit` > 0
// sets RLIMIT_FSIZE (with SIGXFSZ ignored, so a write beyond it fails with EFBIG as on a full
// disk instead of killing the process).
Child spawn(const std::vector<std::string>& args, const std::string& err_path,
            rlim_t file_size_limit = 0) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    std::vector<std::string> argv_s = {test::kCardinalBinary};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (err >= 0) dup2(err, 2);
        close(fds[0]);
        close(fds[1]);
        if (file_size_limit > 0) {
            signal(SIGXFSZ, SIG_IGN);
            rlimit lim{file_size_limit, file_size_limit};
            setrlimit(RLIMIT_FSIZE, &lim);
        }
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(fds[1]);
    return {pid, fds[0]};
}

// Reads the child's stdout until a line starting with "train:" (printed once the data set, the
// model and any checkpoint are loaded, right before the first step) or EOF.
std::string read_until_started(int fd) {
    std::string text;
    char buf[4096];
    while (text.find("train:") == std::string::npos) {
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        text.append(buf, static_cast<size_t>(n));
    }
    return text;
}

int finish(Child& c) {
    char buf[4096];
    while (read(c.out_fd, buf, sizeof buf) > 0) {
    }
    close(c.out_fd);
    int status = 0;
    waitpid(c.pid, &status, 0);
    return status;
}

std::map<std::string, std::string> tensor_bytes(const std::string& path) {
    SafetensorsFile f = load_safetensors(path);
    std::map<std::string, std::string> out;
    for (const auto& [name, t] : f.tensors) {
        const Tensor c = t.contiguous();
        out[name] = std::string(static_cast<const char*>(c.raw_data()),
                                static_cast<size_t>(c.numel()) * dtype_size(c.dtype()));
    }
    return out;
}

std::string file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

bool has_temporaries(const std::string& dir) {
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().find(".tmp-") != std::string::npos) return true;
    return false;
}

const char* kTinyModel =
    R"({"block": "BasicBlock", "layers": [1, 1, 1, 1], "channels": [8, 16, 16, 16],)"
    R"( "stem_type": "deep", "stem_width": 8, "in_chans": 1, "num_classes": 10,)"
    R"( "stem_stride": 2, "stem_pool": false, "drop_rate": 0.2})";

}  // namespace

TEST_CASE("train: killed 50 times with SIGKILL, resumed from the newest checkpoint each time, "
          "ends bit-identical to an uninterrupted run", "[apps][train][crash]") {
    test::TempDir dir;
    write_dataset(dir.file("data"), 480, 64);
    std::ofstream(dir.file("tiny.json")) << kTinyModel;
    // 30 steps per epoch, 5 epochs: 150 steps, a checkpoint after every one. Dropout draws from
    // the checkpointed generator, so the resumed runs must restore it exactly.
    const std::vector<std::string> common = {
        "train", "--data", "mnist:" + dir.file("data"), "--config", dir.file("tiny.json"),
        "--epochs", "5", "--batch", "16", "--threads", "1", "--seed", "11",
        "--progress", "none", "--checkpoint-every", "1"};
    auto with = [&](std::vector<std::string> extra) {
        std::vector<std::string> a = common;
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    };

    // The uninterrupted run, timed per step to aim the kills.
    Child ref = spawn(with({"--out", dir.file("ref")}), dir.file("ref.err"));
    read_until_started(ref.out_fd);
    const auto t0 = Clock::now();
    const int ref_status = finish(ref);
    INFO(file_bytes(dir.file("ref.err")));
    REQUIRE(WIFEXITED(ref_status));
    REQUIRE(WEXITSTATUS(ref_status) == 0);
    const double step_s = std::chrono::duration<double>(Clock::now() - t0).count() / 150.0;

    const std::string out = dir.file("killed"), checkpoint = out + "/checkpoint.safetensors";
    std::mt19937 rng(2026);
    // Kill within about two steps of the start of training: on average less than a step is
    // done per attempt, so the kills land all over the run (inside steps, evaluations and
    // checkpoint writes), not only in its first moments.
    std::uniform_real_distribution<double> delay(0.0, 2.0 * step_s);
    int kills = 0, attempts = 0, max_epoch_seen = 0;
    bool finished = false;
    while (!finished) {
        ++attempts;
        REQUIRE(attempts < 2000);
        const bool resume = fs::exists(checkpoint);
        Child c = spawn(resume ? with({"--resume", checkpoint}) : with({"--out", out}),
                        dir.file("run.err"));
        read_until_started(c.out_fd);
        if (kills < 50) {
            std::this_thread::sleep_for(std::chrono::duration<double>(delay(rng)));
            kill(c.pid, SIGKILL);
        }
        const int status = finish(c);
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
            ++kills;
        } else {
            INFO("run " << attempts << " stderr: " << file_bytes(dir.file("run.err")));
            REQUIRE(WIFEXITED(status));
            REQUIRE(WEXITSTATUS(status) == 0);
            finished = true;
        }
        // The newest checkpoint always loads, and is a training checkpoint.
        if (fs::exists(checkpoint)) {
            SafetensorsFile f = load_safetensors(checkpoint);
            REQUIRE(f.metadata.at("format") == kCheckpointFormat);
            max_epoch_seen = std::max(max_epoch_seen, std::stoi(f.metadata.at("epoch")));
        }
    }
    INFO("kills " << kills << ", attempts " << attempts);
    CHECK(kills >= 50);
    CHECK(max_epoch_seen == 5);
    CHECK_FALSE(has_temporaries(out));
    const auto expected = tensor_bytes(dir.file("ref") + "/model.safetensors");
    const auto got = tensor_bytes(out + "/model.safetensors");
    REQUIRE(expected.size() == got.size());
    for (const auto& [name, bytes] : expected) {
        INFO(name);
        CHECK(got.at(name) == bytes);
    }
}

TEST_CASE("train: a write error while checkpointing stops with one clear line and leaves the "
          "previous checkpoint intact", "[apps][train][crash]") {
    test::TempDir dir;
    write_dataset(dir.file("data"), 160, 32);
    std::ofstream(dir.file("tiny.json")) << kTinyModel;
    const std::vector<std::string> common = {
        "train", "--data", "mnist:" + dir.file("data"), "--config", dir.file("tiny.json"),
        "--epochs", "3", "--batch", "16", "--threads", "1", "--progress", "none"};
    std::vector<std::string> first = common;
    for (const char* a : {"--stop-after", "1", "--out"}) first.push_back(a);
    first.push_back(dir.file("run"));
    Child c = spawn(first, dir.file("first.err"));
    REQUIRE(finish(c) == 0);
    const std::string checkpoint = dir.file("run") + "/checkpoint.safetensors";
    const std::string before = file_bytes(checkpoint);
    REQUIRE(before.size() > 4096);

    // Files may not grow past half a checkpoint: the next checkpoint's write fails (EFBIG) as it
    // would on a full disk.
    std::vector<std::string> resume = common;
    for (const char* a : {"--checkpoint-every", "2", "--resume"}) resume.push_back(a);
    resume.push_back(checkpoint);
    Child r = spawn(resume, dir.file("second.err"), before.size() / 2);
    const int status = finish(r);
    const std::string err = file_bytes(dir.file("second.err"));
    INFO(err);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) != 0);
    CHECK_THAT(err, Catch::Contains("cannot write the checkpoint after 2 batches of epoch 2") &&
                        Catch::Contains("File too large") &&
                        Catch::Contains("previous checkpoint, if any, is unchanged"));
    CHECK(std::count(err.begin(), err.end(), '\n') == 1);
    CHECK(file_bytes(checkpoint) == before);
    CHECK_FALSE(has_temporaries(dir.file("run")));
    // And it still resumes.
    std::vector<std::string> again = common;
    again.push_back("--resume");
    again.push_back(checkpoint);
    Child a = spawn(again, dir.file("third.err"));
    CHECK(finish(a) == 0);
    CHECK(fs::exists(dir.file("run") + "/model.safetensors"));
}
