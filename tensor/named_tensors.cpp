#include "tensor/named_tensors.h"

namespace cardinal {

NamedTensors with_prefix(const NamedTensors& dict, const std::string& prefix) {
    NamedTensors out;
    for (const auto& [key, value] : dict) out.emplace_back(prefix + key, value);
    return out;
}

NamedTensors strip_prefix(const NamedTensors& dict, const std::string& prefix) {
    NamedTensors out;
    for (const auto& [key, value] : dict)
        if (key.compare(0, prefix.size(), prefix) == 0)
            out.emplace_back(key.substr(prefix.size()), value);
    return out;
}

}  // namespace cardinal
