// The pretrained-config table and the ImageNet-1k class list, parsed once from the embedded data
// (models/embedded_data.h).
#include "models/pretrained.h"

#include <map>
#include <sstream>

#include "models/embedded_data.h"
#include "models/resnet_config.h"
#include "tensor/error.h"
#include "tensor/escape.h"
#include "tensor/suggest.h"

namespace cardinal {
namespace {

using ojson = nlohmann::ordered_json;  // keeps timm's tag order

int64_t square_side(const ojson& size, const std::string& where) {
    check<ValueError>(size.is_array() && size.size() == 3 && size[1] == size[2], where,
                      ": input size must be [C, S, S], got ", size.dump());
    return size[1].get<int64_t>();
}

PretrainedCfg parse_cfg(const std::string& arch, const std::string& tag, const ojson& j) {
    const std::string where = "pretrained_cfgs.json " + arch + "." + tag;
    PretrainedCfg c;
    c.architecture = arch;
    c.tag = tag;
    c.input_size = square_side(j.at("input_size"), where);
    if (j.contains("test_input_size")) c.test_input_size = square_side(j["test_input_size"], where);
    c.crop_pct = j.at("crop_pct").get<double>();
    c.test_crop_pct = j.value("test_crop_pct", 0.0);
    c.interpolation = parse_interpolation(j.at("interpolation").get<std::string>());
    c.crop_mode = parse_crop_mode(j.value("crop_mode", "center"));
    c.mean = j.at("mean").get<std::vector<double>>();
    c.std = j.at("std").get<std::vector<double>>();
    c.num_classes = j.at("num_classes").get<int64_t>();
    c.hf_hub_id = j.value("hf_hub_id", "");
    c.license = j.value("license", "");
    return c;
}

const std::map<std::string, std::vector<PretrainedCfg>>& table() {
    static const std::map<std::string, std::vector<PretrainedCfg>> t = [] {
        std::map<std::string, std::vector<PretrainedCfg>> m;
        const ojson doc = ojson::parse(embedded::kPretrainedCfgsJson);
        for (const auto& [arch, entry] : doc.at("architectures").items()) {
            const std::string default_tag = entry.at("default_tag").get<std::string>();
            std::vector<PretrainedCfg>& tags = m[arch];
            for (const auto& [full, cfg] : entry.at("tags").items()) {
                const std::string tag = full.substr(full.find('.') + 1);
                PretrainedCfg c = parse_cfg(arch, tag, cfg);
                if (tag == default_tag)
                    tags.insert(tags.begin(), std::move(c));
                else
                    tags.push_back(std::move(c));
            }
            check<ValueError>(!tags.empty() && tags.front().tag == default_tag,
                              "pretrained_cfgs.json: ", arch, " lacks its default tag ",
                              default_tag);
        }
        return m;
    }();
    return t;
}

struct ClassList {
    std::vector<std::string> synsets, descriptions;
};

const ClassList& imagenet1k() {
    static const ClassList list = [] {
        ClassList l;
        std::istringstream in{std::string(embedded::kImagenet1kClassesTsv)};
        std::string line;
        while (std::getline(in, line)) {
            const size_t tab = line.find('\t');
            l.synsets.push_back(line.substr(0, tab));
            l.descriptions.push_back(tab == std::string::npos ? line : line.substr(tab + 1));
        }
        check<ValueError>(l.synsets.size() == 1000, "imagenet1k_classes.tsv: ", l.synsets.size(),
                          " classes, expected 1000");
        return l;
    }();
    return list;
}

}  // namespace

EvalTransform PretrainedCfg::eval_transform(bool test_size) const {
    EvalTransform t;
    t.crop_size = test_size && test_input_size > 0 ? test_input_size : input_size;
    t.crop_pct = test_size && test_crop_pct > 0 ? test_crop_pct : crop_pct;
    t.interpolation = interpolation;
    t.crop_mode = crop_mode;
    t.mean = mean;
    t.std = std;
    return t;
}

nlohmann::json PretrainedCfg::to_json() const {
    nlohmann::json j = {{"tag", tag},
                        {"input_size", {3, input_size, input_size}},
                        {"interpolation", interpolation_name(interpolation)},
                        {"crop_pct", crop_pct},
                        {"crop_mode", crop_mode_name(crop_mode)},
                        {"mean", mean},
                        {"std", std},
                        {"num_classes", num_classes}};
    if (test_input_size > 0) j["test_input_size"] = {3, test_input_size, test_input_size};
    if (test_crop_pct > 0) j["test_crop_pct"] = test_crop_pct;
    if (!hf_hub_id.empty()) j["hf_hub_id"] = hf_hub_id;
    if (!license.empty()) j["license"] = license;
    return j;
}

const std::vector<PretrainedCfg>& pretrained_tags(const std::string& architecture) {
    static const std::vector<PretrainedCfg> none;
    auto it = table().find(architecture);
    return it == table().end() ? none : it->second;
}

ModelName resolve_model_name(const std::string& name) {
    const size_t dot = name.find('.');
    ModelName out;
    out.architecture = name.substr(0, dot);
    model_info(out.architecture);  // ValueError listing the known architectures
    const std::vector<PretrainedCfg>& tags = pretrained_tags(out.architecture);
    if (dot == std::string::npos) {
        if (!tags.empty()) out.pretrained = &tags.front();
        return out;
    }
    const std::string tag = name.substr(dot + 1);
    for (const PretrainedCfg& c : tags)
        if (c.tag == tag) {
            out.pretrained = &c;
            return out;
        }
    std::string known;
    std::vector<std::string> tag_names;
    for (const PretrainedCfg& c : tags) {
        known += (known.empty() ? "" : ", ") + c.name();
        tag_names.push_back(c.tag);
    }
    fail<ValueError>("unknown tag '", escape_for_message(tag), "' of model '", out.architecture,
                     "'", did_you_mean(tag, tag_names), " (",
                     known.empty() ? std::string("it has no pretrained tags") : "known: " + known,
                     ")");
}

const std::vector<std::string>& imagenet1k_descriptions() { return imagenet1k().descriptions; }
const std::vector<std::string>& imagenet1k_synsets() { return imagenet1k().synsets; }

}  // namespace cardinal
