// A --model NAME given on the command line: an unknown name is a usage error (exit 2) naming
// the closest known model, while an unknown name read from a file stays a ValueError (exit 1).
#pragma once
#include <string>

#include "models/resnet_config.h"

namespace cardinal::apps {

const ModelInfo& model_flag(const std::string& name);

}  // namespace cardinal::apps
