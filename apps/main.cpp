// cardinal: train, evaluate and run the ResNeXt / SE / SK / ResNeSt family from the shell.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/exit_codes.h"
#include "cardinal/version.h"
#include "tensor/error.h"
#include "tensor/escape.h"
#include "tensor/parallel.h"
#include "tensor/suggest.h"

namespace {

// One line on stderr, whatever the message holds.
void print_error(const std::string& message) {
    std::string line = message;
    for (char& c : line)
        if (c == '\n' || c == '\r') c = ' ';
    std::fprintf(stderr, "cardinal: error: %s\n", line.c_str());
}

constexpr int kUsageExit = 2;  // bad flags, as getopt-style tools exit

// The first argument when it names no subcommand (CLI11 would only say that arguments were not
// expected): "unknown command 'trian'; did you mean 'train'?". "" when it is fine.
std::string unknown_command(const CLI::App& app, int argc, char** argv) {
    if (argc < 2 || argv[1][0] == '-' || argv[1][0] == '\0') return "";
    const std::string name = argv[1];
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
        names.push_back(sub->get_name());
    for (const std::string& n : names)
        if (n == name) return "";
    return "unknown command '" + cardinal::escape_for_message(name) + "'" +
           cardinal::did_you_mean(name, names) + " (run 'cardinal --help' for the list)";
}

// CLI11's message, except a value that is not a number: "--lr: 'abc' is not a valid number"
// rather than "Could not convert: --lr = abc".
std::string parse_error_message(const CLI::ParseError& e) {
    const std::string what = e.what();
    const std::string prefix = "Could not convert: ";
    const size_t eq = what.find(" = ");
    if (what.rfind(prefix, 0) != 0 || eq == std::string::npos) return what;
    const std::string flag = what.substr(prefix.size(), eq - prefix.size());
    const std::string value = what.substr(eq + 3);
    return flag + ": '" + cardinal::escape_for_message(value) + "' is not a valid number";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"cardinal: ResNeXt / SE-ResNeXt / SKNet / ResNeSt on the CPU, from scratch"};
    app.set_version_flag("--version", std::string("cardinal ") + cardinal::kVersion);
    app.require_subcommand(1);
    cardinal::apps::add_models_command(app);
    cardinal::apps::add_infer_command(app);
    cardinal::apps::add_train_command(app);
    cardinal::apps::add_eval_command(app);
    cardinal::apps::add_bench_command(app);
    cardinal::apps::add_gradcheck_command(app);
    cardinal::apps::add_graph_command(app);
    try {
        cardinal::check_thread_environment();  // a bad CARDINAL_NUM_THREADS is a usage error
    } catch (const std::exception& e) {
        print_error(e.what());
        return kUsageExit;
    }
    if (const std::string unknown = unknown_command(app, argc, argv); !unknown.empty()) {
        print_error(unknown);
        return kUsageExit;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
        print_error(parse_error_message(e));
        return kUsageExit;
    } catch (const cardinal::apps::UsageError& e) {
        print_error(e.what());
        return kUsageExit;
    } catch (const cardinal::apps::ExitCode& e) {
        return e.code;  // the command printed its verdict (gradcheck: a mismatch)
    } catch (const std::exception& e) {
        print_error(e.what());
        return 1;
    }
    return 0;
}
