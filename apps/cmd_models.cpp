// `cardinal models`: the registry and timm's pretrained tags, one line per model; with --json
// one JSON object per line (JSON Lines) that also measures parameters and forward GMACs.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/model_flag.h"
#include "models/pretrained.h"
#include "models/resnet.h"
#include "models/resnet_config.h"

namespace cardinal::apps {
namespace {

// {"name", "block", "config", "parameters", "gmacs", "input_size", "default_tag",
//  "pretrained_cfg", "tags"}; parameters and GMACs are counted on the built model
// (docs/timm-configs.md section 10's count: convolutions and fc, one image at the default
// tag's input size).
nlohmann::json describe(const std::string& name) {
    const ModelInfo& info = model_info(name);
    const std::vector<PretrainedCfg>& tags = pretrained_tags(name);
    ResNet model(info.config);
    nlohmann::json j = {{"name", name},
                        {"block", info.config.block},
                        {"config", info.config.to_json()},
                        {"parameters", model.num_parameters()},
                        {"input_size", {info.config.in_chans, info.input_size, info.input_size}},
                        {"gmacs", count_macs(model, info.input_size, info.input_size) / 1e9}};
    j["default_tag"] = tags.empty() ? nlohmann::json() : nlohmann::json(tags.front().name());
    j["pretrained_cfg"] = tags.empty() ? nlohmann::json() : tags.front().to_json();
    nlohmann::json names = nlohmann::json::array();
    for (const PretrainedCfg& t : tags) names.push_back(t.name());
    j["tags"] = names;
    return j;
}

}  // namespace

void add_models_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("models", "List the named models and timm's pretrained tags");
    auto as_json = std::make_shared<bool>(false);  // outlives this function: parse runs later
    auto only = std::make_shared<std::vector<std::string>>();
    auto positional = std::make_shared<std::vector<std::string>>();
    cmd->add_option("--model", *only, "Only these models (architecture names; ARCH.TAG is fine)");
    cmd->add_option("names", *positional, "Same as --model: `cardinal models resnest50d`");
    cmd->add_flag("--json", *as_json,
                  "JSON Lines: config, parameters, GMACs, default tag and its eval config, tags "
                  "(builds every model: takes a few seconds)");
    cmd->callback([as_json, only, positional]() {
        std::vector<std::string> names;
        for (const auto* list : {only.get(), positional.get()})
            for (const std::string& n : *list) names.push_back(model_name_flag(n).architecture);
        if (names.empty()) names = model_names();
        for (const std::string& name : names) {
            if (*as_json) {
                std::printf("%s\n", describe(name).dump().c_str());
                std::fflush(stdout);
                continue;
            }
            const ModelInfo& info = model_info(name);
            std::printf("%-22s %-26s input %ldx%ld  %s\n", name.c_str(), info.config.block.c_str(),
                        static_cast<long>(info.input_size), static_cast<long>(info.input_size),
                        info.description.c_str());
            for (const PretrainedCfg& t : pretrained_tags(name))
                std::printf("    %-40s %3ld crop %.3f %-8s%s\n", t.name().c_str(),
                            static_cast<long>(t.input_size), t.crop_pct,
                            interpolation_name(t.interpolation),
                            &t == &pretrained_tags(name).front() ? "  (default)" : "");
        }
    });
}

}  // namespace cardinal::apps
