#include "apps/model_flag.h"

#include "apps/commands.h"

namespace cardinal::apps {

const ModelInfo& model_flag(const std::string& name) {
    try {
        return model_info(name);
    } catch (const ValueError& e) {
        throw UsageError(e.what());  // the registry's message: name, suggestion, known names
    }
}

ModelName model_name_flag(const std::string& name) {
    try {
        return resolve_model_name(name);
    } catch (const ValueError& e) {
        throw UsageError(e.what());  // unknown architecture (with a suggestion) or unknown tag
    }
}

}  // namespace cardinal::apps
