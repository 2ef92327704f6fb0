#include "models/hf_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/pretrained.h"
#include "models/resnet_config.h"
#include "tensor/error.h"

namespace cardinal {
namespace {

using json = nlohmann::json;

int64_t square_side(const json& v, const std::string& where) {
    check<ValueError>(v.is_array() && v.size() == 3 && v[1].is_number_integer() && v[1] == v[2],
                      where, " must be [C, S, S] with a square S, got ", v.dump());
    return v[1].get<int64_t>();
}

std::vector<double> numbers(const json& v, const std::string& where) {
    check<ValueError>(v.is_array() && !v.empty(), where, " must be a list of numbers, got ",
                      v.dump());
    std::vector<double> out;
    for (const json& e : v) {
        check<ValueError>(e.is_number(), where, " must be a list of numbers, got ", v.dump());
        out.push_back(e.get<double>());
    }
    return out;
}

std::string text(const json& v, const std::string& where) {
    check<ValueError>(v.is_string(), where, " must be a string, got ", v.dump());
    return v.get<std::string>();
}

// label_names: a list, or {"<index>": name} (timm allows gaps; we need every index).
std::vector<std::string> label_names(const json& v, int64_t num_classes, const std::string& where) {
    std::vector<std::string> names;
    if (v.is_array()) {
        for (const json& e : v) names.push_back(text(e, where));
    } else {
        check<ValueError>(v.is_object(), where, " must be a list or an object, got ",
                          v.type_name());
        names.resize(v.size());
        for (const auto& [key, value] : v.items()) {
            size_t end = 0;
            long long i = -1;
            try {
                i = std::stoll(key, &end);
            } catch (const std::exception&) {
            }
            check<ValueError>(end == key.size() && i >= 0 && i < static_cast<long long>(v.size()),
                              where, ": key '", key, "' is not a class index 0..", v.size() - 1);
            names[i] = text(value, where);
        }
    }
    check<ValueError>(num_classes < 0 || static_cast<int64_t>(names.size()) == num_classes, where,
                      " has ", names.size(), " names for ", num_classes, " classes");
    return names;
}

}  // namespace

HfConfig read_hf_config(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    check<FormatError>(f.good(), path, ": cannot open the config file");
    std::stringstream buffer;
    buffer << f.rdbuf();
    json doc;
    try {
        doc = json::parse(buffer.str());
    } catch (const json::exception& e) {
        fail<FormatError>(path, ": not valid JSON (", e.what(), ")");
    }
    check<ValueError>(doc.is_object(), path, ": must be a JSON object, got ", doc.type_name());
    HfConfig c;
    c.path = path;
    check<ValueError>(doc.contains("architecture"), path, ": no \"architecture\" field");
    c.architecture = text(doc["architecture"], path + ": architecture");
    try {
        model_info(c.architecture);
    } catch (const ValueError& e) {
        fail<ValueError>(path, ": architecture: ", e.what());
    }
    // Legacy configs keep the pretrained_cfg fields at the top level.
    const json& cfg = doc.contains("pretrained_cfg") ? doc["pretrained_cfg"] : doc;
    check<ValueError>(cfg.is_object(), path, ": pretrained_cfg must be an object");
    if (cfg.contains("tag")) c.tag = text(cfg["tag"], path + ": pretrained_cfg.tag");

    // Start from the tag's config (or the default tag's) and apply what the file states.
    const std::vector<PretrainedCfg>& tags = pretrained_tags(c.architecture);
    const PretrainedCfg* base = tags.empty() ? nullptr : &tags.front();
    for (const PretrainedCfg& t : tags)
        if (t.tag == c.tag) base = &t;
    if (base) {
        c.eval = base->eval_transform();
        c.test_input_size = base->test_input_size;
        c.test_crop_pct = base->test_crop_pct;
    }
    const std::string p = path + ": pretrained_cfg.";
    if (cfg.contains("input_size"))
        c.eval.crop_size = square_side(cfg["input_size"], p + "input_size");
    if (cfg.contains("test_input_size"))
        c.test_input_size = square_side(cfg["test_input_size"], p + "test_input_size");
    if (cfg.contains("crop_pct"))
        c.eval.crop_pct = numbers(json::array({cfg["crop_pct"]}), p + "crop_pct")[0];
    if (cfg.contains("test_crop_pct"))
        c.test_crop_pct = numbers(json::array({cfg["test_crop_pct"]}), p + "test_crop_pct")[0];
    try {
        if (cfg.contains("interpolation"))
            c.eval.interpolation =
                parse_interpolation(text(cfg["interpolation"], p + "interpolation"));
        if (cfg.contains("crop_mode"))
            c.eval.crop_mode = parse_crop_mode(text(cfg["crop_mode"], p + "crop_mode"));
    } catch (const ValueError& e) {
        fail<ValueError>(path, ": ", e.what());
    }
    if (cfg.contains("mean")) c.eval.mean = numbers(cfg["mean"], p + "mean");
    if (cfg.contains("std")) c.eval.std = numbers(cfg["std"], p + "std");
    try {
        c.eval.validate(static_cast<int64_t>(c.eval.mean.size()));
    } catch (const ValueError& e) {
        fail<ValueError>(path, ": pretrained_cfg: ", e.what());
    }
    for (const json* owner : std::initializer_list<const json*>{&cfg, &doc})  // top level wins
        if (owner->contains("num_classes")) {
            const json& n = (*owner)["num_classes"];
            check<ValueError>(n.is_number_integer() && n >= 0, path,
                              ": num_classes must be a non-negative integer, got ", n.dump());
            c.num_classes = n.get<int64_t>();
        }
    if (doc.contains("model_args")) {
        const json& args = doc["model_args"];
        check<ValueError>(args.is_object(), path, ": model_args must be an object");
        for (const auto& [key, value] : args.items()) {
            check<ValueError>(key == "in_chans" || key == "num_classes", path, ": model_args.", key,
                              " is not supported (only in_chans and num_classes change the build)");
            check<ValueError>(value.is_number_integer() && value >= 0, path, ": model_args.", key,
                              " must be a non-negative integer, got ", value.dump());
            (key == "in_chans" ? c.in_chans : c.num_classes) = value.get<int64_t>();
        }
    }
    const json* names = doc.contains("label_names")   ? &doc["label_names"]
                        : cfg.contains("label_names") ? &cfg["label_names"]
                                                      : nullptr;
    if (names) {
        c.labels = label_names(*names, c.num_classes, path + ": label_names");
        const json* desc = doc.contains("label_descriptions")   ? &doc["label_descriptions"]
                           : cfg.contains("label_descriptions") ? &cfg["label_descriptions"]
                                                                : nullptr;
        if (desc && desc->is_object())
            for (std::string& n : c.labels)
                if (desc->contains(n) && (*desc)[n].is_string()) n = (*desc)[n].get<std::string>();
    }
    return c;
}

}  // namespace cardinal
