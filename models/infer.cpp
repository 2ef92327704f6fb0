// run_infer: build, load, read the input, forward (and backward), collect what the fixtures
// record. The CLI (apps/cmd_infer.cpp) only parses flags and prints.
#include "models/infer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/variable.h"
#include "models/infer_model.h"
#include "models/resnet.h"
#include "models/weights.h"
#include "ops/loss.h"
#include "ops/precision.h"
#include "tensor/error.h"
#include "tensor/escape.h"
#include "tensor/kernels.h"
#include "tensor/random.h"

namespace cardinal {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_safetensors(const std::string& path) {
    std::string lower = path;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return ends_with(lower, ".safetensors");
}

// Exactly the object ResNetConfig::from_json reads, from a spec-like object or kwargs.
nlohmann::json kwargs_of(const nlohmann::json& j, const std::string& path) {
    check<ValueError>(j.is_object(), path, ": a config must be a JSON object, got ", j.type_name());
    if (!j.contains("kwargs")) return j;
    if (j.contains("builder"))
        check<ValueError>(j["builder"] == "ResNet", path, ": builder ", j["builder"].dump(),
                          " is not a network (expected \"ResNet\")");
    return j["kwargs"];
}

nlohmann::json parse_json(const std::string& text, const std::string& where) {
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        fail<FormatError>(where, ": not valid JSON (", e.what(), ")");
    }
}

struct Input {
    Tensor x;       // [N, C, H, W] in the run dtype
    Tensor target;  // int64 [N], or undefined
    std::vector<std::string> names;
};

// Decodes and preprocesses images [first, last) of `files` into one batch.
Tensor read_image_batch(const std::vector<std::string>& files, size_t first, size_t last,
                        ColorMode mode, const EvalTransform& tf, DType dtype) {
    std::vector<Tensor> images;
    for (size_t i = first; i < last; ++i) images.push_back(load_image_for_eval(files[i], tf, mode));
    return kernels::cat(images, 0).to(dtype);
}

bool has_image_extension(const std::filesystem::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".ppm", ".pgm", ".pnm"})
        if (ext == e) return true;
    return false;
}

Input read_tensor_file(const InferOptions& o, const ResNetConfig& config) {
    const std::string& path = o.inputs.front();
    SafetensorsFile file = load_safetensors(path);
    const Tensor& x = file.get("input");
    check<ShapeError>(x.dim() == 4, "infer: ", path, ": `input` must be [N, C, H, W], got ",
                      describe(x));
    check<ShapeError>(x.size(1) == config.in_chans, "infer: ", path, ": `input` has ", x.size(1),
                      " channels, the model expects ", config.in_chans, " (in_chans)");
    check<DTypeError>(is_floating(x.dtype()), "infer: ", path,
                      ": `input` must be floating point, got ", dtype_name(x.dtype()));
    Input in;
    in.x = x.to(o.dtype).clone();  // a fresh leaf of its own
    for (int64_t i = 0; i < x.size(0); ++i)
        in.names.push_back(path + "[" + std::to_string(i) + "]");
    if (o.backward) {
        check<ValueError>(file.contains("target"), "infer: --backward needs an int64 `target` [",
                          x.size(0), "] in ", path, ", which has none");
        in.target = file.get("target");
        check<DTypeError>(in.target.dtype() == DType::Int64, "infer: ", path,
                          ": `target` must be int64, got ", dtype_name(in.target.dtype()));
        check<ShapeError>(in.target.shape() == Shape{x.size(0)}, "infer: ", path,
                          ": `target` must be [", x.size(0), "] (one class per input), got ",
                          describe(in.target));
    }
    return in;
}

bool is_bn_buffer(const std::string& name) {
    return ends_with(name, ".running_mean") || ends_with(name, ".running_var") ||
           ends_with(name, ".num_batches_tracked");
}

}  // namespace

void parse_run_dtype(const std::string& name, InferOptions& options) {
    options.bfloat16 = name == "bfloat16";
    if (name == "float32" || name == "bfloat16") {
        options.dtype = DType::Float32;
    } else if (name == "float64") {
        options.dtype = DType::Float64;
    } else {
        fail<ValueError>("infer: --dtype must be float32, float64 or bfloat16, got '", name, "'");
    }
}

ResNetConfig load_config_file(const std::string& path) {
    nlohmann::json kwargs;
    if (is_safetensors(path)) {
        SafetensorsFile file = load_safetensors(path);
        auto it = file.metadata.find("spec");
        check<FormatError>(it != file.metadata.end(), path,
                           ": no __metadata__.spec to read a config from");
        kwargs = kwargs_of(parse_json(it->second, path + " __metadata__.spec"), path);
    } else {
        std::ifstream f(path, std::ios::binary);
        check<FormatError>(f.good(), path, ": cannot open the config file");
        std::stringstream text;
        text << f.rdbuf();
        kwargs = kwargs_of(parse_json(text.str(), path), path);
    }
    try {
        return ResNetConfig::from_json(kwargs);
    } catch (const ValueError& e) {
        fail<ValueError>(path, ": ", e.what());
    }
}

std::vector<std::string> read_labels(const std::string& path, int64_t num_classes) {
    std::ifstream f(path, std::ios::binary);
    check<FormatError>(f.good(), "labels ", path, ": cannot open the file");
    std::vector<std::string> labels;
    std::string line;
    while (std::getline(f, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        labels.push_back(line);
    }
    check<ValueError>(static_cast<int64_t>(labels.size()) == num_classes, "labels ", path, ": ",
                      labels.size(), " lines, the model has ", num_classes,
                      " classes (one name per line expected)");
    return labels;
}

std::vector<std::vector<Prediction>> top_k(const Tensor& logits, int64_t k,
                                           const std::vector<std::string>& labels) {
    check<ShapeError>(logits.dim() == 2, "top_k: logits must be [N, C], got ", describe(logits));
    check<ValueError>(k >= 1, "top_k: k must be at least 1, got ", k);
    const int64_t n = logits.size(0), c = logits.size(1);
    k = std::min(k, c);
    std::vector<double> v = logits.to_vector();
    std::vector<std::vector<Prediction>> out(n);
    for (int64_t i = 0; i < n; ++i) {
        const double* row = v.data() + i * c;
        double mx = *std::max_element(row, row + c), sum = 0;
        std::vector<double> p(c);
        for (int64_t j = 0; j < c; ++j) sum += p[j] = std::exp(row[j] - mx);
        std::vector<int64_t> idx(c);
        std::iota(idx.begin(), idx.end(), 0);
        // ties: the lower index first, so output is stable
        std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int64_t a, int64_t b) {
            return p[a] > p[b] || (p[a] == p[b] && a < b);
        });
        for (int64_t j = 0; j < k; ++j)
            out[i].push_back(
                {idx[j], p[idx[j]] / sum, labels.empty() ? std::string() : labels[idx[j]]});
    }
    return out;
}

std::vector<std::string> expand_image_inputs(const std::vector<std::string>& inputs) {
    namespace fs = std::filesystem;
    std::vector<std::string> files;
    for (const std::string& in : inputs) {
        std::error_code ec;
        if (fs::is_directory(in, ec)) {
            std::vector<std::string> found;
            for (const auto& entry : fs::directory_iterator(in, ec))
                if (entry.is_regular_file() && has_image_extension(entry.path()))
                    found.push_back(entry.path().string());
            check<ValueError>(!ec, "infer: --input ", in, ": cannot list the directory (",
                              ec.message(), ")");
            check<ValueError>(!found.empty(), "infer: --input ", in,
                              ": the directory holds no images (png, jpg, jpeg, bmp, gif, tga, ",
                              "ppm, pgm, pnm)");
            std::sort(found.begin(), found.end());
            files.insert(files.end(), found.begin(), found.end());
        } else {
            check<ValueError>(fs::exists(in, ec), "infer: --input ", in, ": no such file");
            files.push_back(in);
        }
    }
    return files;
}

InferResult run_infer(const InferOptions& o) {
    check<ValueError>(!o.inputs.empty(), "infer: --input is required");
    check<ValueError>(o.topk >= 1, "infer: --topk must be at least 1, got ", o.topk);
    check<ValueError>(o.batch >= 1, "infer: --batch must be at least 1, got ", o.batch);
    check<ValueError>(is_floating(o.dtype), "infer: the run dtype must be float32 or float64");
    if (o.bfloat16) {
        check<ValueError>(o.dtype == DType::Float32,
                          "infer: bfloat16 convolutions run on float32 tensors, not ",
                          dtype_name(o.dtype));
        check<ValueError>(!o.backward && !o.train_mode,
                          "infer: --dtype bfloat16 is for eval-mode inference (no --backward, no "
                          "--train-mode)");
        check<ValueError>(bfloat16_supported(),
                          "infer: --dtype bfloat16 needs a CPU with AVX512-BF16 or AMX; oneDNN sees ",
                          cpu_isa_name());
    }
    check<ValueError>(o.preprocess.size >= 0, "infer: --size must be positive, got ",
                      o.preprocess.size);
    check<ValueError>(o.preprocess.crop_pct >= 0 && o.preprocess.crop_pct <= 1,
                      "infer: --crop-pct must be in (0, 1], got ", o.preprocess.crop_pct);

    // Read everything that can be wrong before the (possibly long) build.
    SafetensorsFile weights = load_safetensors(weights_path(o));
    InferModel m = resolve_infer_model(o, weights);
    const ResNetConfig& config = m.config;
    InferResult result;
    result.model = m.name;
    result.source = m.source;

    const bool tensor_input = is_safetensors(o.inputs.front());
    check<ValueError>(!tensor_input || o.inputs.size() == 1, "infer: ", o.inputs.front(),
                      ": a .safetensors input must be the only input");
    check<ValueError>(tensor_input || !o.backward, "infer: --backward needs a .safetensors input ",
                      "holding `input` and an int64 `target`");
    check<ValueError>(o.save_input.empty() || !tensor_input,
                      "infer: --save-input needs image inputs (the input is already a tensor)");
    std::vector<std::string> files;
    ColorMode mode = ColorMode::Rgb;
    if (!tensor_input) {
        files = expand_image_inputs(o.inputs);
        for (const auto& f : files)
            check<ValueError>(!is_safetensors(f), "infer: ", f,
                              ": a .safetensors input must be the only input");
        check<ValueError>(config.in_chans == 1 || config.in_chans == 3, "infer: the model takes ",
                          config.in_chans, " input channels, images give 3 (RGB) or 1 (grey); ",
                          "pass a .safetensors `input` instead");
        mode = config.in_chans == 1 ? ColorMode::Grey : ColorMode::Rgb;
        check<ValueError>(static_cast<int64_t>(m.transform.mean.size()) == config.in_chans &&
                              static_cast<int64_t>(m.transform.std.size()) == config.in_chans,
                          "infer: the model takes ", config.in_chans, " channel(s) but the ",
                          "normalisation has ", m.transform.mean.size(), " mean and ",
                          m.transform.std.size(), " std values; give --mean and --std with ",
                          config.in_chans, " value(s)");
        m.transform.validate(config.in_chans);
        result.transform = m.transform.describe();
    }
    Input in;
    if (tensor_input) in = read_tensor_file(o, config);

    Generator gen(o.seed);
    auto model = std::make_shared<ResNet>(config, &gen);
    model->to(o.dtype);
    result.notes = load_weights(*model, weights, {o.skip_classifier_mismatch}).notes;
    model->train(o.train_mode);

    Tensor logits;
    const ConvPrecisionScope precision(o.bfloat16 ? ConvPrecision::BFloat16 : ConvPrecision::Float32);
    if (o.backward) {
        model->zero_grad();
        set_requires_grad(in.x);
        logits = model->forward(in.x);
        check<ValueError>(logits.dim() == 2 && logits.size(1) > 0,
                          "infer: --backward needs a classifier (num_classes > 0)");
        Tensor loss = cross_entropy(logits, in.target);
        backward(loss);
        result.outputs.emplace_back("logits", detach(logits));
        result.outputs.emplace_back("loss", detach(loss));
        Tensor gx = grad(in.x);
        result.outputs.emplace_back("grad.input", gx.defined() ? gx : zeros_like(in.x));
        for (const auto& [name, p] : model->named_parameters()) {
            Tensor g = grad(p);
            result.outputs.emplace_back("grad." + name, g.defined() ? g : zeros_like(p));
        }
    } else if (tensor_input) {
        NoGradGuard no_grad;
        logits = model->forward(in.x);
        result.outputs.emplace_back("logits", logits);
    } else {
        // Images in groups of `batch`: the same logits as one batch, in bounded memory.
        NoGradGuard no_grad;
        std::vector<Tensor> parts, inputs;
        for (size_t first = 0; first < files.size(); first += o.batch) {
            const size_t last = std::min(files.size(), first + static_cast<size_t>(o.batch));
            Tensor x = read_image_batch(files, first, last, mode, m.transform, o.dtype);
            parts.push_back(model->forward(x));
            if (!o.save_input.empty()) inputs.push_back(x);
        }
        logits = parts.size() == 1 ? parts.front() : kernels::cat(parts, 0);
        result.outputs.emplace_back("logits", logits);
        result.input_names = files;
        if (!o.save_input.empty())
            save_safetensors(
                o.save_input,
                {{"input", inputs.size() == 1 ? inputs.front() : kernels::cat(inputs, 0)}},
                {{"format", "cardinal-infer-input/1"},
                 {"transform", result.transform},
                 {"files", nlohmann::json(files).dump()}});
    }
    if (tensor_input) result.input_names = in.names;
    if (o.train_mode || o.backward)
        for (const auto& [name, b] : model->named_buffers())
            if (is_bn_buffer(name)) result.outputs.emplace_back("running_after." + name, b.clone());
    if (config.num_classes > 0) result.top = top_k(detach(logits), o.topk, m.labels);
    return result;
}

// File names (a listed directory's) and labels (a labels file's, a config's, weights
// metadata's) come from outside: the text listing prints them escaped, the JSON lines as JSON
// strings (an invalid UTF-8 byte replaced, where the JSON library would throw).
std::string format_predictions(const InferResult& result) {
    std::ostringstream os;
    char line[64];
    for (size_t i = 0; i < result.top.size(); ++i) {
        os << (i < result.input_names.size() ? escape_for_message(result.input_names[i]) : "input")
           << "\n";
        for (size_t j = 0; j < result.top[i].size(); ++j) {
            const Prediction& p = result.top[i][j];
            std::snprintf(line, sizeof line, "  #%zu  class %ld  p=%.6f", j + 1,
                          static_cast<long>(p.index), p.probability);
            os << line << (p.label.empty() ? "" : "  " + escape_for_message(p.label)) << "\n";
        }
    }
    return os.str();
}

std::string format_predictions_json(const InferResult& result) {
    std::string out;
    for (size_t i = 0; i < result.top.size(); ++i) {
        nlohmann::json line = {
            {"file", i < result.input_names.size() ? result.input_names[i] : "input"}};
        nlohmann::json indices = nlohmann::json::array(), names = nlohmann::json::array(),
                       probabilities = nlohmann::json::array();
        for (const Prediction& p : result.top[i]) {
            indices.push_back(p.index);
            names.push_back(p.label);
            probabilities.push_back(p.probability);
        }
        line["indices"] = indices;
        line["names"] = names;
        line["probabilities"] = probabilities;
        out += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    return out;
}

void save_infer_outputs(const std::string& path, const InferResult& result,
                        const InferOptions& options) {
    std::string mode = options.train_mode ? "train" : "eval";
    if (options.backward) mode += "+backward";
    save_safetensors(path, result.outputs,
                     {{"format", "cardinal-infer/1"},
                      {"model", result.model},
                      {"weights", weights_path(options)},
                      {"dtype", options.bfloat16 ? "bfloat16" : dtype_name(options.dtype)},
                      {"mode", mode}});
}

}  // namespace cardinal
