// Builds a timm block or attention module from a fixture's `spec` JSON
// (tests/nn/fixture_check.h): builder + kwargs (+ downsample). Test-side only.
#pragma once
#include <memory>

#include <nlohmann/json.hpp>

#include "nn/module.h"

namespace cardinal::testing {

std::shared_ptr<Module> build_block_from_spec(const nlohmann::json& spec);

}  // namespace cardinal::testing
