// Loading and saving a network's weights as safetensors, under timm's state_dict names.
//
// The loader accepts timm's `model.safetensors` as published (F32, F16, BF16 or F64 floats, I64
// counters) and our own files, including reference fixtures: a file whose __metadata__ has a
// `state_dict_keys` list (the fixture format) contributes only those tensors, so its inputs,
// outputs and gradients are not taken for unexpected weights.
//
// The tensors then go through Module::load_state_dict (nn/module.h), strict, with floating
// tensors converted to the dtype of the module's tensor they fill (the run dtype): every
// state_dict entry of the module must be present with the same shape and every tensor in the
// file must belong to the module; `num_batches_tracked` may be missing (it stays as it was).
// One ValueError lists every missing key, unexpected key and mismatch.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "nn/module.h"

namespace cardinal {

struct WeightLoadOptions {
    // An `fc.weight` / `fc.bias` whose class count differs from the module's is skipped (the
    // module keeps its own values) instead of being an error (LoadStateOptions::
    // skip_classifier_mismatch); each skip adds a note.
    bool skip_classifier_mismatch = false;
    // A first convolution (conv1.weight, or conv1.0.weight of a deep stem) stored with 3 input
    // channels for a module with another count is adapted as timm's adapt_input_conv does:
    // summed over RGB for 1 channel, else repeated to C channels and scaled by 3 / C. Adds a note.
    bool adapt_input_conv = false;
};

// timm's adapt_input_conv on a [O, 3, KH, KW] weight: [O, in_chans, KH, KW], same dtype.
Tensor adapt_input_conv(const Tensor& weight, int64_t in_chans);

// The state_dict entries a weights file holds (the fixture rule above applied).
NamedTensors weights_in_file(const SafetensorsFile& file);

// The report's notes have one line per tolerated difference (an adapted first conv, a skipped
// classifier tensor).
LoadStateReport load_weights(Module& module, const SafetensorsFile& file,
                        const WeightLoadOptions& options = {});
LoadStateReport load_weights(Module& module, const std::string& path,
                        const WeightLoadOptions& options = {});

// Writes module.state_dict() in state_dict order (tensors in their own dtype), with
// `state_dict_keys` in the metadata so that the order survives readers that sort keys.
void save_weights(const Module& module, const std::string& path,
                  std::map<std::string, std::string> metadata = {});

}  // namespace cardinal
