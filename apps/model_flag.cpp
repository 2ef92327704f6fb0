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

}  // namespace cardinal::apps
