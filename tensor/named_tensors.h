// NamedTensors: the one list-of-named-tensors type. A module's state_dict, an optimizer's or
// scheduler's state, the contents of a safetensors file and a checkpoint's sections are all this
// type, so one value moves between them without conversion. Order is kept (it is the file order
// and PyTorch's state_dict order).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace cardinal {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The entries of `dict` with `prefix` prepended to their names ("optimizer." + "state.0...").
NamedTensors with_prefix(const NamedTensors& dict, const std::string& prefix);
// The entries whose names start with `prefix`, with it removed; others are dropped.
NamedTensors strip_prefix(const NamedTensors& dict, const std::string& prefix);

}  // namespace cardinal
