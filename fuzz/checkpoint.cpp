// Fuzz target: resuming training from a checkpoint, through the real command line:
//   cardinal train --resume FILE --data mnist:DIR ...
// FILE is the input: the safetensors container, then the checkpoint's metadata (format,
// config, options with the model_kwargs the model is built from, history, step, epoch_totals)
// and tensors (model., optimizer., scheduler., rng., epoch), all of which apps/ reads before it
// trains. No --model or --config is given, so the model is the checkpoint's own: its
// options.model_kwargs go through ResNetConfig::from_json and the model is built from them
// (under the allocation limit that keeps a file's kwargs from sizing a model the file cannot
// hold). The data (8 generated MNIST-format images) and the run's length come from the command
// line, and the seeds' models (fuzz/checkpoint_model.json and a tiny ResNeSt) have a few
// thousand parameters, so a valid checkpoint resumes in milliseconds; the seeds are such
// checkpoints (fuzz/make_corpus.py).
//
// Exit codes 0 (resumed and finished), 1 (an error of the run) and 2 (a usage error) are all
// fine; an exception that is not a cardinal::Error escapes run_cli and is a finding.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "apps/cli.h"
#include "fuzz/fuzz_input.h"

using namespace cardinal;

namespace {

void write_idx(const std::string& path, const std::vector<uint32_t>& dims, uint8_t fill) {
    std::ofstream f(path, std::ios::binary);
    const char magic[4] = {0, 0, 0x08, static_cast<char>(dims.size())};
    f.write(magic, 4);
    size_t count = 1;
    for (uint32_t d : dims) {
        const char be[4] = {char(d >> 24), char(d >> 16), char(d >> 8), char(d)};
        f.write(be, 4);
        count *= d;
    }
    for (size_t i = 0; i < count; ++i) f.put(static_cast<char>(dims.size() == 1 ? i % 10 : (i * 7 + fill) % 251));
}

// The data set, once per process: 8 training and 8 test images of 28x28, labels 0..9.
const std::string& data_dir() {
    static const std::string dir = [] {
        const std::string d = fuzz::scratch_dir() + "/mnist";
        std::filesystem::create_directories(d);
        for (const char* split : {"train", "t10k"}) {
            write_idx(d + "/" + split + "-images-idx3-ubyte", {8, 28, 28}, split[0]);
            write_idx(d + "/" + split + "-labels-idx1-ubyte", {8}, 0);
        }
        return d;
    }();
    return dir;
}

std::FILE* null_stream() {
    static std::FILE* f = std::fopen("/dev/null", "w");
    return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string data_spec = "mnist:" + data_dir();
    std::filesystem::create_directories(fuzz::scratch_dir() + "/run");
    const std::string path = fuzz::write_input("run/checkpoint.safetensors", data, size);
    std::vector<std::string> args = {"cardinal", "train", "--resume", path,
                                     "--data", data_spec, "--epochs", "2", "--batch", "4",
                                     "--eval-batch", "8", "--limit-train", "8", "--limit-test", "8",
                                     "--threads", "1", "--progress", "none"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    CLI::App app{"cardinal"};
    apps::add_commands(app);
    std::ostringstream out;
    const int code = apps::run_cli(app, static_cast<int>(args.size()), argv.data(), null_stream(), out);
    if (code != 0 && code != 1 && code != apps::kUsageExit) std::abort();
    return 0;
}
