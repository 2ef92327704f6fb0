#include "apps/cli.h"

#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/exit_codes.h"
#include "tensor/error.h"
#include "tensor/escape.h"
#include "tensor/parallel.h"
#include "tensor/suggest.h"

namespace cardinal::apps {
namespace {

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
    return "unknown command '" + escape_for_message(name) + "'" + did_you_mean(name, names) +
           " (run 'cardinal --help' for the list)";
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
    return flag + ": '" + escape_for_message(value) + "' is not a valid number";
}

}  // namespace

void print_error(std::FILE* err, const std::string& message) {
    std::string line = message;
    for (char& c : line)
        if (c == '\n' || c == '\r') c = ' ';
    // Whatever a message quotes from a file or the command line, no control character or
    // invalid UTF-8 reaches the terminal (strings from files are escaped where they enter a
    // message; this catches the text of libraries that quote them, like a JSON parser's).
    std::fprintf(err, "cardinal: error: %s\n", escape_controls(line).c_str());
}

void add_commands(CLI::App& app) {
    app.require_subcommand(1);
    add_models_command(app);
    add_infer_command(app);
    add_train_command(app);
    add_eval_command(app);
    add_bench_command(app);
    add_gradcheck_command(app);
    add_graph_command(app);
}

int run_cli(CLI::App& app, int argc, char** argv, std::FILE* err, std::ostream& out) {
    try {
        check_thread_environment();  // a bad CARDINAL_NUM_THREADS is a usage error
    } catch (const Error& e) {
        print_error(err, e.what());
        return kUsageExit;
    }
    if (const std::string unknown = unknown_command(app, argc, argv); !unknown.empty()) {
        print_error(err, unknown);
        return kUsageExit;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e, out, out);  // --help, --version
        print_error(err, parse_error_message(e));
        return kUsageExit;
    } catch (const UsageError& e) {
        print_error(err, e.what());
        return kUsageExit;
    } catch (const ExitCode& e) {
        return e.code;  // the command printed its verdict (gradcheck: a mismatch)
    } catch (const Error& e) {
        print_error(err, e.what());
        return 1;
    }
    return 0;
}

}  // namespace cardinal::apps
