// Fuzz target: the command line's argument parsing (apps/cli.cpp run_cli: the unknown-command
// suggestion, CLI11's parse of every subcommand's flags, the error messages built from them).
// The subcommands' actions do not run: what is fuzzed is the parse, not training or inference
// (the checkpoint target runs `cardinal train --resume` for real).
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
    // The main app's parse-complete callback runs after every flag is parsed and before any
    // subcommand's action; it ends the run there. (Clearing the subcommands' callbacks instead
    // would free the flag variables they own while CLI11 still writes into them.)
    struct Parsed {};
    app.parse_complete_callback([] { throw Parsed{}; });
    std::ostringstream out;
    try {
        const int code =
            apps::run_cli(app, static_cast<int>(args.size()), argv.data(), null_stream(), out);
        if (code != 0 && code != apps::kUsageExit) std::abort();  // a parse fails as a usage error
    } catch (const Parsed&) {
    }
    return 0;
}
