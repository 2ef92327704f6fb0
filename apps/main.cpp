// cardinal: train, evaluate and run the ResNeXt / SE / SK / ResNeSt family from the shell.
// The command line itself is apps/cli.cpp; this adds --version and the last catch for errors
// that are not cardinal::Error (out of memory, a system error), which still end in one line
// and exit 1.
#include <cstdio>
#include <exception>
#include <string>

#include "apps/cli.h"
#include "cardinal/version.h"

int main(int argc, char** argv) {
    CLI::App app{"cardinal: ResNeXt / SE-ResNeXt / SKNet / ResNeSt on the CPU, from scratch"};
    app.set_version_flag("--version", std::string("cardinal ") + cardinal::kVersion);
    cardinal::apps::add_commands(app);
    try {
        return cardinal::apps::run_cli(app, argc, argv);
    } catch (const std::exception& e) {
        cardinal::apps::print_error(stderr, e.what());
        return 1;
    }
}
