// cardinal: train, evaluate and run the ResNeXt / SE / SK / ResNeSt family from the shell.
#include <cstdio>
#include <exception>

#include "apps/commands.h"
#include "apps/exit_codes.h"
#include "tensor/error.h"

int main(int argc, char** argv) {
    CLI::App app{"cardinal: ResNeXt / SE-ResNeXt / SKNet / ResNeSt on the CPU, from scratch"};
    app.require_subcommand(1);
    cardinal::apps::add_models_command(app);
    cardinal::apps::add_infer_command(app);
    cardinal::apps::add_train_command(app);
    cardinal::apps::add_eval_command(app);
    cardinal::apps::add_gradcheck_command(app);
    cardinal::apps::add_graph_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;  // --help is 0; usage errors: CLI11's message, exit 2
    } catch (const cardinal::apps::UsageError& e) {
        std::fprintf(stderr, "cardinal: error: %s\n", e.what());
        return 2;
    } catch (const cardinal::apps::ExitCode& e) {
        return e.code;
    } catch (const cardinal::Error& e) {
        std::fprintf(stderr, "cardinal: error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cardinal: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
