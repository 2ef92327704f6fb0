// Weight files in, weight files out. What a file adds to Module::load_state_dict: fixtures carry
// non-weight tensors (state_dict_keys says which are weights), and timm's adapt_input_conv for
// a first convolution published for RGB.
#include "models/weights.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tensor/error.h"

namespace cardinal {
namespace {

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

LoadStateReport load_weights(Module& module, const SafetensorsFile& file,
                        const WeightLoadOptions& options) {
    NamedTensors given = weights_in_file(file);
    std::vector<std::string> notes;
    if (options.adapt_input_conv) {
        const NamedTensors own = module.state_dict();
        for (auto& [n, src] : given) {
            if (!is_first_conv(n)) continue;
            // A copy of the name: clang 14 (the fuzz build's) cannot capture a structured binding.
            const std::string& name = n;
            auto dst = std::find_if(own.begin(), own.end(),
                                    [&](const auto& entry) { return entry.first == name; });
            if (dst == own.end() || !is_input_conv_mismatch(n, dst->second.shape(), src.shape()))
                continue;
            const int64_t in_chans = dst->second.size(1);
            notes.push_back("adapted " + n + " from 3 input channels to " +
                            std::to_string(in_chans) +
                            (in_chans == 1 ? " (RGB filters summed)"
                                           : " (RGB filters repeated, scaled by 3/C)"));
            src = adapt_input_conv(src, in_chans);
        }
    }
    LoadStateOptions lo;
    lo.convert_dtype = true;
    lo.skip_classifier_mismatch = options.skip_classifier_mismatch;
    lo.source = "weights " + file.path;
    LoadStateReport report = module.load_state_dict(given, lo);
    report.notes.insert(report.notes.begin(), notes.begin(), notes.end());
    return report;
}

LoadStateReport load_weights(Module& module, const std::string& path,
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
