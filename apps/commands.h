// The `cardinal` subcommands. Each adds itself to the CLI11 app; main() runs the one chosen and
// turns any error into one line on stderr and a non-zero exit.
#pragma once
#include <CLI/CLI.hpp>

namespace cardinal::apps {

void add_models_command(CLI::App& app);
void add_infer_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_gradcheck_command(CLI::App& app);
void add_graph_command(CLI::App& app);

}  // namespace cardinal::apps
