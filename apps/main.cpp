// cardinal: train, evaluate and run the ResNeXt / SE / SK / ResNeSt family from the shell.
#include <cstdio>
#include <exception>
#include <string>

#include "apps/commands.h"
#include "apps/exit_codes.h"
#include "cardinal/version.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

namespace {

// One line on stderr, whatever the message holds.
void print_error(const std::string& message) {
    std::string line = message;
    for (char& c : line)
        if (c == '\n' || c == '\r') c = ' ';
    std::fprintf(stderr, "cardinal: error: %s\n", line.c_str());
}

constexpr int kUsageExit = 2;  // bad flags, as getopt-style tools exit

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
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
        print_error(e.what());
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
