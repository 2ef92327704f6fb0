// Fuzz target: the command line's argument parsing (apps/cli.cpp run_cli: the unknown-command
// suggestion, CLI11's parse of every subcommand's flags, the error messages built from them).
// The subcommands' actions are switched off: what is fuzzed is the parse, not training or
// inference (the checkpoint target runs `cardinal train --resume` for real).
//
// Input: the arguments after "cardinal", separated by NUL bytes (at most 64 of them).
#include <sstream>
#include <string>
#include <vector>

#include "apps/cli.h"
#include "fuzz/fuzz_input.h"

using namespace cardinal;

namespace {

std::FILE* null_stream() {
    static std::FILE* f = std::fopen("/dev/null", "w");
    return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::string> args = {"cardinal"};
    std::string current;
    for (size_t i = 0; i < size && args.size() <= 64; ++i) {
        if (data[i] == 0) {
            args.push_back(current);
            current.clear();
        } else {
            current.push_back(static_cast<char>(data[i]));
        }
    }
    if (!current.empty() && args.size() <= 64) args.push_back(current);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    CLI::App app{"cardinal"};
    apps::add_commands(app);
    for (CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
        sub->callback({});
    std::ostringstream out;
    const int code = apps::run_cli(app, static_cast<int>(args.size()), argv.data(), null_stream(), out);
    if (code != 0 && code != apps::kUsageExit) std::abort();  // a parse fails as a usage error
    return 0;
}
