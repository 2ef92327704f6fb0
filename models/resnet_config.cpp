#include "models/resnet_config.h"

#include <map>
#include <set>

#include "tensor/error.h"
#include "tensor/escape.h"

namespace cardinal {
namespace {

using json = nlohmann::json;

const std::set<std::string> kBlocks = {"BasicBlock", "Bottleneck", "SelectiveKernelBasic",
                                       "SelectiveKernelBottleneck", "ResNestBottleneck"};

template <typename T>
T get_as(const json& j, const std::string& key, const char* expected) {
    try {
        return j.get<T>();
    } catch (const json::exception&) {
        fail<ValueError>("config: '", key, "' must be ", expected, ", got ", j.dump());
    }
}

int64_t get_int(const json& j, const std::string& key) {
    // A whole float (4.0) is accepted; one beyond int64 (1e300) is not, as converting it would be
    // undefined behaviour.
    const bool whole_float = j.is_number_float() && j.get<double>() == std::floor(j.get<double>()) &&
                             std::fabs(j.get<double>()) < 9.2e18;
    check<ValueError>(j.is_number_integer() || whole_float,
                      "config: '", key, "' must be an integer, got ", j.dump());
    return j.is_number_integer() ? j.get<int64_t>() : static_cast<int64_t>(j.get<double>());
}
double get_num(const json& j, const std::string& key) {
    check<ValueError>(j.is_number(), "config: '", key, "' must be a number, got ", j.dump());
    return j.get<double>();
}
bool get_bool(const json& j, const std::string& key) {
    check<ValueError>(j.is_boolean(), "config: '", key, "' must be true or false, got ", j.dump());
    return j.get<bool>();
}
std::string get_str(const json& j, const std::string& key) {
    check<ValueError>(j.is_string(), "config: '", key, "' must be a string, got ", j.dump());
    return j.get<std::string>();
}
std::vector<int64_t> get_ints(const json& j, const std::string& key) {
    check<ValueError>(j.is_array(), "config: '", key, "' must be a list of integers, got ", j.dump());
    std::vector<int64_t> v;
    for (const json& e : j) v.push_back(get_int(e, key));
    return v;
}

void check_keys(const json& obj, const std::set<std::string>& allowed, const std::string& where) {
    check<ValueError>(obj.is_object(), "config: ", where, " must be a JSON object, got ", obj.dump());
    for (auto it = obj.begin(); it != obj.end(); ++it)
        if (!allowed.count(it.key())) {
            std::string known;
            for (const auto& k : allowed) known += (known.empty() ? "" : ", ") + k;
            fail<ValueError>("config: unknown key '", escape_for_message(it.key()), "' in ", where, " (known: ", known, ")");
        }
}

AttnLayerConfig parse_attn(const json& j) {
    AttnLayerConfig a;
    if (j.is_string()) {
        a.name = j.get<std::string>();
    } else {
        check_keys(j, {"name", "rd_ratio", "rd_divisor"}, "block_args.attn_layer");
        check<ValueError>(j.contains("name"), "config: block_args.attn_layer needs a 'name'");
        a.name = get_str(j["name"], "attn_layer.name");
        if (j.contains("rd_ratio")) a.rd_ratio = get_num(j["rd_ratio"], "attn_layer.rd_ratio");
        if (j.contains("rd_divisor")) a.rd_divisor = get_int(j["rd_divisor"], "attn_layer.rd_divisor");
    }
    check<ValueError>(a.name == "se", "config: attn_layer '", escape_for_message(a.name), "' is not supported (expected \"se\")");
    return a;
}

}  // namespace

bool ResNetConfig::is_bottleneck() const {
    return block == "Bottleneck" || block == "SelectiveKernelBottleneck" || block == "ResNestBottleneck";
}

ResNetConfig ResNetConfig::from_json(const json& k) {
    check_keys(k, {"block", "layers", "channels", "cardinality", "base_width", "stem_type", "stem_width",
                   "avg_down", "down_kernel_size", "in_chans", "num_classes", "drop_rate", "drop_path_rate",
                   "drop_block_rate", "zero_init_last", "block_args", "stem_stride", "stem_pool"},
               "the model config");
    ResNetConfig c;
    if (k.contains("block")) c.block = get_str(k["block"], "block");
    if (k.contains("layers")) c.layers = get_ints(k["layers"], "layers");
    if (k.contains("channels")) c.channels = get_ints(k["channels"], "channels");
    if (k.contains("cardinality")) c.cardinality = get_int(k["cardinality"], "cardinality");
    if (k.contains("base_width")) c.base_width = get_int(k["base_width"], "base_width");
    if (k.contains("stem_type")) c.stem_type = get_str(k["stem_type"], "stem_type");
    if (k.contains("stem_width")) c.stem_width = get_int(k["stem_width"], "stem_width");
    if (k.contains("avg_down")) c.avg_down = get_bool(k["avg_down"], "avg_down");
    if (k.contains("down_kernel_size")) c.down_kernel_size = get_int(k["down_kernel_size"], "down_kernel_size");
    if (k.contains("in_chans")) c.in_chans = get_int(k["in_chans"], "in_chans");
    if (k.contains("num_classes")) c.num_classes = get_int(k["num_classes"], "num_classes");
    if (k.contains("drop_rate")) c.drop_rate = get_num(k["drop_rate"], "drop_rate");
    if (k.contains("drop_path_rate")) c.drop_path_rate = get_num(k["drop_path_rate"], "drop_path_rate");
    if (k.contains("drop_block_rate")) c.drop_block_rate = get_num(k["drop_block_rate"], "drop_block_rate");
    if (k.contains("zero_init_last")) c.zero_init_last = get_bool(k["zero_init_last"], "zero_init_last");
    if (k.contains("stem_stride")) c.stem_stride = get_int(k["stem_stride"], "stem_stride");
    if (k.contains("stem_pool")) c.stem_pool = get_bool(k["stem_pool"], "stem_pool");
    if (k.contains("block_args") && !k["block_args"].is_null()) {
        const json& b = k["block_args"];
        check_keys(b, {"attn_layer", "sk_kwargs", "radix", "avd", "avd_first"}, "block_args");
        if (b.contains("attn_layer") && !b["attn_layer"].is_null()) c.block_args.attn_layer = parse_attn(b["attn_layer"]);
        if (b.contains("sk_kwargs")) {
            const json& s = b["sk_kwargs"];
            check_keys(s, {"rd_ratio", "rd_divisor", "split_input"}, "block_args.sk_kwargs");
            c.block_args.has_sk_kwargs = true;
            if (s.contains("rd_ratio")) c.block_args.sk_kwargs.rd_ratio = get_num(s["rd_ratio"], "sk_kwargs.rd_ratio");
            if (s.contains("rd_divisor")) c.block_args.sk_kwargs.rd_divisor = get_int(s["rd_divisor"], "sk_kwargs.rd_divisor");
            if (s.contains("split_input")) c.block_args.sk_kwargs.split_input = get_bool(s["split_input"], "sk_kwargs.split_input");
        }
        if (b.contains("radix")) c.block_args.radix = get_int(b["radix"], "block_args.radix");
        if (b.contains("avd")) c.block_args.avd = get_bool(b["avd"], "block_args.avd");
        if (b.contains("avd_first")) c.block_args.avd_first = get_bool(b["avd_first"], "block_args.avd_first");
    }
    c.validate();
    return c;
}

json ResNetConfig::to_json() const {
    json k;
    k["block"] = block;
    k["layers"] = layers;
    k["channels"] = channels;
    k["cardinality"] = cardinality;
    k["base_width"] = base_width;
    k["stem_type"] = stem_type;
    k["stem_width"] = stem_width;
    k["avg_down"] = avg_down;
    k["down_kernel_size"] = down_kernel_size;
    k["in_chans"] = in_chans;
    k["num_classes"] = num_classes;
    k["drop_rate"] = drop_rate;
    k["drop_path_rate"] = drop_path_rate;
    k["drop_block_rate"] = drop_block_rate;
    k["zero_init_last"] = zero_init_last;
    k["stem_stride"] = stem_stride;
    k["stem_pool"] = stem_pool;
    json b = json::object();
    if (block_args.attn_layer)
        b["attn_layer"] = {{"name", block_args.attn_layer->name},
                           {"rd_ratio", block_args.attn_layer->rd_ratio},
                           {"rd_divisor", block_args.attn_layer->rd_divisor}};
    if (block_args.has_sk_kwargs)
        b["sk_kwargs"] = {{"rd_ratio", block_args.sk_kwargs.rd_ratio},
                          {"rd_divisor", block_args.sk_kwargs.rd_divisor},
                          {"split_input", block_args.sk_kwargs.split_input}};
    if (block == "ResNestBottleneck") {
        b["radix"] = block_args.radix;
        b["avd"] = block_args.avd;
        b["avd_first"] = block_args.avd_first;
    }
    k["block_args"] = b;
    return k;
}

void ResNetConfig::validate() const {
    check<ValueError>(kBlocks.count(block), "config: unknown block '", escape_for_message(block),
                      "' (expected BasicBlock, Bottleneck, SelectiveKernelBasic, SelectiveKernelBottleneck "
                      "or ResNestBottleneck)");
    check<ValueError>(layers.size() == 4 && channels.size() == 4, "config: 'layers' and 'channels' need 4 ",
                      "entries each, got ", layers.size(), " and ", channels.size());
    for (int i = 0; i < 4; ++i) {
        check<ValueError>(layers[i] >= 1 && layers[i] <= 1000, "config: layers[", i, "] must be 1..1000, got ", layers[i]);
        check<ValueError>(channels[i] >= 1 && channels[i] <= 65536, "config: channels[", i, "] must be 1..65536, got ",
                          channels[i]);
    }
    check<ValueError>(cardinality >= 1, "config: cardinality must be >= 1, got ", cardinality);
    check<ValueError>(base_width >= 1, "config: base_width must be >= 1, got ", base_width);
    check<ValueError>(stem_type == "" || stem_type == "deep" || stem_type == "deep_tiered", "config: stem_type '",
                      escape_for_message(stem_type), "' is not one of '', 'deep', 'deep_tiered'");
    check<ValueError>(stem_width >= 1 && (stem_type != "deep_tiered" || stem_width >= 4),
                      "config: stem_width must be >= 1 (>= 4 for deep_tiered), got ", stem_width);
    check<ValueError>(down_kernel_size == 1 || down_kernel_size == 3, "config: down_kernel_size must be 1 or 3, got ",
                      down_kernel_size);
    check<ValueError>(in_chans >= 1, "config: in_chans must be >= 1, got ", in_chans);
    check<ValueError>(num_classes >= 0, "config: num_classes must be >= 0, got ", num_classes);
    for (auto [name, v] : {std::pair{"drop_rate", drop_rate}, {"drop_path_rate", drop_path_rate},
                           {"drop_block_rate", drop_block_rate}})
        check<ValueError>(v >= 0 && v < 1, "config: ", name, " must be in [0, 1), got ", v);
    check<ValueError>(stem_stride == 1 || stem_stride == 2, "config: stem_stride must be 1 or 2, got ", stem_stride);
    check<ValueError>(block_args.radix >= 1 || block != "ResNestBottleneck",
                      "config: block_args.radix must be >= 1 for ResNestBottleneck, got ", block_args.radix);
    check<ValueError>(!block_args.attn_layer || block == "Bottleneck" || block == "BasicBlock",
                      "config: attn_layer is only supported on Bottleneck/BasicBlock, not ", block);
    check<ValueError>(!block_args.has_sk_kwargs || block.rfind("SelectiveKernel", 0) == 0,
                      "config: sk_kwargs apply only to SelectiveKernel blocks, not ", block);
    if (block_args.attn_layer)
        check<ValueError>(block_args.attn_layer->rd_ratio > 0 && block_args.attn_layer->rd_divisor >= 1,
                          "config: attn_layer rd_ratio must be > 0 and rd_divisor >= 1");
    if (block_args.has_sk_kwargs)
        check<ValueError>(block_args.sk_kwargs.rd_ratio > 0 && block_args.sk_kwargs.rd_divisor >= 1,
                          "config: sk_kwargs rd_ratio must be > 0 and rd_divisor >= 1");
}

}  // namespace cardinal
