// `cardinal models`: the registry, one line per model.
#include <cstdio>
#include <memory>

#include "apps/commands.h"
#include "models/resnet_config.h"

namespace cardinal::apps {

void add_models_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("models", "List the named models");
    auto as_json = std::make_shared<bool>(false);  // outlives this function: parse runs later
    cmd->add_flag("--json", *as_json, "Print each model's config as JSON (the --config format)");
    cmd->callback([as_json]() {
        for (const std::string& name : model_names()) {
            const ModelInfo& info = model_info(name);
            if (*as_json)
                std::printf("%s %s\n", name.c_str(), info.config.to_json().dump().c_str());
            else
                std::printf("%-22s %-28s input %ldx%ld  %s\n", name.c_str(),
                            info.config.block.c_str(), static_cast<long>(info.input_size),
                            static_cast<long>(info.input_size), info.description.c_str());
        }
    });
}

}  // namespace cardinal::apps
