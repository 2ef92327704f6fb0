// The `cardinal` subcommands. Each adds itself to the CLI11 app; main() runs the one chosen and
// turns any error into one line on stderr and a non-zero exit (2 for usage errors).
#pragma once
#include <CLI/CLI.hpp>

#include "tensor/error.h"

namespace cardinal::apps {

// A flag value the command cannot use (out of range, unknown name, unsupported combination):
// main() prints it as one line and exits 2, like CLI11's own parse errors.
class UsageError : public ValueError {
    using ValueError::ValueError;
};

void add_models_command(CLI::App& app);
void add_infer_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_gradcheck_command(CLI::App& app);
void add_graph_command(CLI::App& app);

}  // namespace cardinal::apps
