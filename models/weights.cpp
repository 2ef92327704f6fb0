// Weight files in, weight files out. Why not Module::load_state_dict alone: a published file
// comes in F16/BF16/F32 while the run may be float64, fixtures carry non-weight tensors, and a
// user swapping the classifier needs a named, deliberate way to keep the new head.
#include "models/weights.h"

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unordered_map>

#include "tensor/error.h"
#include "tensor/escape.h"

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

bool is_first_conv(const std::string& name) {
    return name == "conv1.weight" || name == "conv1.0.weight";
}

// [O, I, KH, KW] that differ only in I, with 3 in the file.
bool is_input_conv_mismatch(const std::string& name, const Shape& own, const Shape& got) {
    return is_first_conv(name) && own.size() == 4 && got.size() == 4 && got[1] == 3 &&
           own[1] != 3 && own[0] == got[0] && own[2] == got[2] && own[3] == got[3];
}

}  // namespace

Tensor adapt_input_conv(const Tensor& weight, int64_t in_chans) {
    check<ShapeError>(weight.dim() == 4 && weight.size(1) == 3, "adapt_input_conv: expected a ",
                      "[O, 3, KH, KW] weight, got ", describe(weight));
    check<ValueError>(in_chans >= 1, "adapt_input_conv: in_chans must be positive, got ", in_chans);
    const int64_t o = weight.size(0), k = weight.size(2) * weight.size(3);
    const std::vector<double> w = weight.to_vector();
    // timm computes in float32 (float64 stays float64): round every step as it does.
    const bool f64 = weight.dtype() == DType::Float64;
    auto round = [f64](double v) { return f64 ? v : static_cast<double>(static_cast<float>(v)); };
    const double scale = round(3.0 / static_cast<double>(in_chans));
    std::vector<double> out(static_cast<size_t>(o * in_chans * k));
    for (int64_t i = 0; i < o; ++i)
        for (int64_t c = 0; c < in_chans; ++c)
            for (int64_t j = 0; j < k; ++j) {
                const double* src = &w[static_cast<size_t>(i * 3 * k + j)];
                double v;
                if (in_chans == 1)  // a grey image is R = G = B: its response is the sum
                    v = round(round(src[0] + src[k]) + src[2 * k]);
                else  // channel c reuses filter c mod 3; 3 / C keeps the activation scale
                    v = round(src[(c % 3) * k] * scale);
                out[static_cast<size_t>((i * in_chans + c) * k + j)] = v;
            }
    return from_vector(out, {o, in_chans, weight.size(2), weight.size(3)}, weight.dtype());
}

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
        Tensor src = *it->second;
        if (options.adapt_input_conv && is_input_conv_mismatch(n, dst.shape(), src.shape())) {
            report.notes.push_back(
                "adapted " + n + " from 3 input channels to " + std::to_string(dst.shape()[1]) +
                (dst.shape()[1] == 1 ? " (RGB filters summed)"
                                     : " (RGB filters repeated, scaled by 3/C)"));
            src = adapt_input_conv(src, dst.shape()[1]);
        }
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
        fail<ValueError>(escape_for_message(os.str()));  // names from the file, escaped
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
