// Builds a seed-form block from a fixture spec (docs/seed-forms.md section 0: builder + kwargs),
// for the
// fixture harness.
#pragma once
#include <memory>

#include <nlohmann/json.hpp>

#include "nn/module.h"

namespace cardinal::testing {

// spec.builder: ResNeXt_Block, SE_ResNeXt_Block, SEBlock, SKConv or SplAtConv2d.
std::shared_ptr<Module> make_seed_block(const nlohmann::json& spec);

}  // namespace cardinal::testing
