#include "models/infer_model.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/hf_config.h"
#include "models/pretrained.h"
#include "tensor/error.h"

namespace cardinal {
namespace {

namespace fs = std::filesystem;

std::string meta(const SafetensorsFile& f, const char* key) {
    auto it = f.metadata.find(key);
    return it == f.metadata.end() ? std::string() : it->second;
}

nlohmann::json meta_json(const SafetensorsFile& f, const char* key) {
    try {
        return nlohmann::json::parse(meta(f, key));
    } catch (const nlohmann::json::exception&) {
        fail<FormatError>(f.path, ": metadata '", key, "' is not valid JSON");
    }
}

// The config.json that goes with the weights, or "".
std::string hf_config_path(const InferOptions& o) {
    if (!o.model_dir.empty()) {
        const std::string p = (fs::path(o.model_dir) / "config.json").string();
        check<ValueError>(fs::is_regular_file(p), "infer: model folder ", o.model_dir,
                          " has no config.json");
        return p;
    }
    if (!o.config_path.empty() || o.weights.empty()) return "";
    const std::string beside = (fs::path(o.weights).parent_path() / "config.json").string();
    return fs::is_regular_file(beside) ? beside : "";
}

void apply_overrides(EvalTransform& t, const PreprocessOverrides& p) {
    if (p.size > 0) t.crop_size = p.size;
    if (p.crop_pct > 0) t.crop_pct = p.crop_pct;
    if (!p.interpolation.empty()) t.interpolation = parse_interpolation(p.interpolation);
    if (!p.crop_mode.empty()) t.crop_mode = parse_crop_mode(p.crop_mode);
    if (!p.mean.empty()) t.mean = p.mean;
    if (!p.std.empty()) t.std = p.std;
}

// Rows of the weights' classifier, or -1 without one.
int64_t weight_classes(const SafetensorsFile& f) {
    return f.contains("fc.weight") && f.get("fc.weight").dim() == 2 ? f.get("fc.weight").size(0)
                                                                    : -1;
}

}  // namespace

std::string weights_path(const InferOptions& o) {
    check<ValueError>(o.model_dir.empty() || o.weights.empty(),
                      "infer: give --model-dir DIR or --weights FILE, not both");
    if (!o.model_dir.empty()) {
        check<ValueError>(fs::is_directory(o.model_dir), "infer: --model-dir ", o.model_dir,
                          ": not a directory");
        const std::string p = (fs::path(o.model_dir) / "model.safetensors").string();
        check<ValueError>(fs::is_regular_file(p), "infer: model folder ", o.model_dir,
                          " has no model.safetensors");
        return p;
    }
    check<ValueError>(!o.weights.empty(), "infer: --weights FILE (or --model-dir DIR) is required");
    return o.weights;
}

InferModel resolve_infer_model(const InferOptions& o, const SafetensorsFile& weights) {
    check<ValueError>(o.model.empty() || o.config_path.empty(),
                      "infer: give --model NAME or --config FILE, not both");
    InferModel m;
    m.weights_path = weights.path;
    const std::string hf_path = hf_config_path(o);
    const bool trained = weights.metadata.count("config") > 0;  // written by `cardinal train`
    std::vector<std::string> config_labels;
    bool have_tf = false;

    if (!o.config_path.empty()) {
        m.config = load_config_file(o.config_path);
        m.name = o.config_path;
        m.source = "config file " + o.config_path;
    } else if (!hf_path.empty()) {
        HfConfig hf = read_hf_config(hf_path);
        if (!o.model.empty()) {
            const std::string arch = resolve_model_name(o.model).architecture;
            check<ValueError>(arch == hf.architecture, "infer: ", hf_path, " is for architecture '",
                              hf.architecture, "', but --model names '", arch, "'");
        }
        m.config = model_info(hf.architecture).config;
        if (hf.num_classes >= 0) m.config.num_classes = hf.num_classes;
        if (hf.in_chans > 0) m.config.in_chans = hf.in_chans;
        m.config.validate();
        m.transform = hf.eval;
        if (o.preprocess.test_size) {
            if (hf.test_input_size > 0) m.transform.crop_size = hf.test_input_size;
            if (hf.test_crop_pct > 0) m.transform.crop_pct = hf.test_crop_pct;
        }
        have_tf = true;
        config_labels = hf.labels;
        m.name = hf.tag.empty() ? hf.architecture : hf.architecture + "." + hf.tag;
        m.source = hf_path;
        const int64_t rows = weight_classes(weights);
        check<ValueError>(rows < 0 || rows == m.config.num_classes || o.skip_classifier_mismatch,
                          "infer: ", hf_path, " says num_classes ", m.config.num_classes, ", but ",
                          weights.path, " has a classifier of ", rows, " classes (fc.weight)");
    } else if (!o.model.empty()) {
        const ModelName name = resolve_model_name(o.model);
        const ModelInfo& info = model_info(name.architecture);
        m.config = info.config;
        m.name = name.pretrained ? name.pretrained->name() : name.architecture;
        if (name.pretrained) {
            m.transform = name.pretrained->eval_transform(o.preprocess.test_size);
            m.config.num_classes = name.pretrained->num_classes;
            have_tf = true;
            m.source = "timm pretrained_cfg of " + m.name;
        } else {
            m.transform.crop_size = info.input_size;
            m.transform.crop_pct = info.crop_pct;
            m.source = "registry model " + m.name;
        }
    } else {
        check<ValueError>(trained, "infer: ", weights.path, " does not say which model it is; ",
                          "give --model NAME[.TAG], --config FILE or --model-dir DIR");
        try {
            m.config = ResNetConfig::from_json(meta_json(weights, "config"));
        } catch (const ValueError& e) {
            fail<ValueError>(weights.path, ": metadata 'config': ", e.what());
        }
        m.name = meta(weights, "model").empty() ? weights.path : meta(weights, "model");
        m.source = "metadata of " + weights.path;
    }

    // What `cardinal train` recorded: the normalisation, the image size, the class names.
    if (trained && o.config_path.empty() && hf_path.empty()) {
        if (weights.metadata.count("mean") && weights.metadata.count("std")) {
            try {
                m.transform.mean = meta_json(weights, "mean").get<std::vector<double>>();
                m.transform.std = meta_json(weights, "std").get<std::vector<double>>();
            } catch (const nlohmann::json::exception&) {
                fail<FormatError>(weights.path, ": metadata 'mean'/'std' are not lists of numbers");
            }
        }
        if (!have_tf) {
            // Training images are used whole: resize the shorter side to the training size.
            m.transform.crop_size = m.config.stem_stride == 1 ? 28 : 224;
            if (weights.metadata.count("input_size"))
                m.transform.crop_size = meta_json(weights, "input_size").get<int64_t>();
            m.transform.crop_pct = 1.0;
        }
        if (weights.metadata.count("label_names"))
            config_labels = meta_json(weights, "label_names").get<std::vector<std::string>>();
    }
    apply_overrides(m.transform, o.preprocess);

    if (!o.labels.empty()) {
        check<ValueError>(m.config.num_classes > 0, "infer: --labels given, but the model has no ",
                          "classifier (num_classes 0)");
        m.labels = read_labels(o.labels, m.config.num_classes);
    } else if (!config_labels.empty()) {
        check<ValueError>(static_cast<int64_t>(config_labels.size()) == m.config.num_classes,
                          "infer: ", m.source, " names ", config_labels.size(),
                          " classes, the model has ", m.config.num_classes);
        m.labels = config_labels;
    } else if (m.config.num_classes == 1000) {
        m.labels = imagenet1k_descriptions();
    }
    return m;
}

}  // namespace cardinal
