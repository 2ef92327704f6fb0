// The `cardinal` command line as a function: every subcommand, the parse, and the mapping of
// errors to one line and an exit code. apps/main.cpp is run_cli plus a last catch; the fuzz
// target fuzz/cli.cpp parses hostile argument lists through the same code.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdio>
#include <ostream>

namespace cardinal::apps {

inline constexpr int kUsageExit = 2;  // bad flags, as getopt-style tools exit

// Adds models, infer, train, eval, bench, gradcheck and graph to `app`.
void add_commands(CLI::App& app);

// Parses argv into `app` (built by add_commands) and runs the chosen subcommand. Returns the
// exit code: 0, 2 for a usage error (an unknown subcommand or model, a bad flag value), the
// code a verdict command chose, 1 for any other cardinal::Error. Errors go to `err` as one
// line ("cardinal: error: ..."); --help and --version to `out`. Exceptions that are not
// cardinal::Error propagate: main() reports them, and the fuzzer counts them as findings.
int run_cli(CLI::App& app, int argc, char** argv, std::FILE* err = stderr,
            std::ostream& out = std::cout);

// "cardinal: error: <message>" as one line on `err`, whatever the message holds.
void print_error(std::FILE* err, const std::string& message);

}  // namespace cardinal::apps
