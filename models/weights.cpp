// Weight files in, weight files out. Why not Module::load_state_dict alone: a published file
// comes in F16/BF16/F32 while the run may be float64, fixtures carry non-weight tensors, and a
// user swapping the classifier needs a named, deliberate way to keep the new head.
#include "models/weights.h"

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unordered_map>

#include "tensor/error.h"

namespace cardinal {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// fc.weight [C, F] / fc.bias [C] that differ only in C.
bool is_classifier_mismatch(const std::string& name, const Shape& own, const Shape& got) {
    if (name != "fc.weight" && name != "fc.bias") return false;
    if (own.size() != got.size() || own.empty()) return false;
    for (size_t d = 1; d < own.size(); ++d)
        if (own[d] != got[d]) return false;
    return own[0] != got[0];
}

// One line (the CLI prints errors as one line); a wrong architecture can list hundreds of keys,
// so only the first few are named.
void list_into(std::ostringstream& os, const char* what, const std::vector<std::string>& v) {
    if (v.empty()) return;
    constexpr size_t kShown = 8;
    os << "; " << v.size() << " " << what << ": ";
    for (size_t i = 0; i < v.size() && i < kShown; ++i) os << (i ? ", " : "") << v[i];
    if (v.size() > kShown) os << ", ... (" << v.size() - kShown << " more)";
}

}  // namespace

NamedTensors weights_in_file(const SafetensorsFile& file) {
    auto it = file.metadata.find("state_dict_keys");
    if (it == file.metadata.end()) return file.tensors;
    nlohmann::json keys;
    try {
        keys = nlohmann::json::parse(it->second);
    } catch (const nlohmann::json::exception& e) {
        fail<FormatError>(file.path, ": __metadata__.state_dict_keys is not JSON: ", e.what());
    }
    check<FormatError>(keys.is_array(), file.path,
                       ": __metadata__.state_dict_keys must be a JSON list of names");
    NamedTensors out;
    for (const auto& k : keys) {
        check<FormatError>(k.is_string(), file.path,
                           ": __metadata__.state_dict_keys holds a non-string ", k.dump());
        out.emplace_back(k.get<std::string>(), file.get(k.get<std::string>()));
    }
    return out;
}

WeightLoadReport load_weights(Module& module, const SafetensorsFile& file,
                              const WeightLoadOptions& options) {
    NamedTensors given = weights_in_file(file);
    std::unordered_map<std::string, const Tensor*> by_name;
    std::vector<std::string> duplicates, missing, unexpected, mismatched;
    for (const auto& [n, t] : given)
        if (!by_name.emplace(n, &t).second) duplicates.push_back(n);

    WeightLoadReport report;
    NamedTensors own = module.state_dict();
    std::set<std::string> own_names;
    std::vector<std::pair<Tensor, Tensor>> copies;  // (destination, converted source)
    for (const auto& [n, dst] : own) {
        own_names.insert(n);
        auto it = by_name.find(n);
        if (it == by_name.end()) {
            if (!ends_with(n, "num_batches_tracked")) missing.push_back(n);
            continue;
        }
        const Tensor& src = *it->second;
        if (src.shape() != dst.shape()) {
            if (options.skip_classifier_mismatch &&
                is_classifier_mismatch(n, dst.shape(), src.shape())) {
                report.notes.push_back("skipped " + n + ": the file has " +
                                       std::to_string(src.shape()[0]) + " classes " +
                                       shape_str(src.shape()) + ", the model " +
                                       std::to_string(dst.shape()[0]) + " " +
                                       shape_str(dst.shape()) + "; it keeps its initial values");
                continue;
            }
            mismatched.push_back(n + ": expected shape " + shape_str(dst.shape()) + ", got " +
                                 shape_str(src.shape()));
            continue;
        }
        if (is_floating(dst.dtype()) != is_floating(src.dtype())) {
            mismatched.push_back(n + ": expected a " +
                                 (is_floating(dst.dtype()) ? "floating" : "int64") +
                                 " tensor, got " + dtype_name(src.dtype()));
            continue;
        }
        copies.emplace_back(dst, src.to(dst.dtype()));
    }
    for (const auto& [n, t] : given)
        if (!own_names.count(n)) unexpected.push_back(n + " " + shape_str(t.shape()));

    if (!missing.empty() || !unexpected.empty() || !mismatched.empty() || !duplicates.empty()) {
        std::ostringstream os;
        os << "weights " << file.path << " do not fit the " << module.type_name();
        list_into(os, "shape/dtype mismatches", mismatched);
        list_into(os, "missing keys", missing);
        list_into(os, "unexpected keys", unexpected);
        list_into(os, "duplicate keys", duplicates);
        fail<ValueError>(os.str());
    }
    for (auto& [dst, src] : copies) dst.copy_(src);
    return report;
}

WeightLoadReport load_weights(Module& module, const std::string& path,
                              const WeightLoadOptions& options) {
    return load_weights(module, load_safetensors(path), options);
}

void save_weights(const Module& module, const std::string& path,
                  std::map<std::string, std::string> metadata) {
    NamedTensors state = module.state_dict();
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& [n, _] : state) keys.push_back(n);
    metadata["state_dict_keys"] = keys.dump();
    save_safetensors(path, state, metadata);
}

}  // namespace cardinal
