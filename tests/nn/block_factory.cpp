#include "block_factory.h"

#include "nn/blocks/blocks.h"

namespace cardinal::testing {
namespace {

using nlohmann::json;

template <typename T> T get_or(const json& j, const char* key, T fallback) {
    return j.contains(key) ? j.at(key).get<T>() : fallback;
}

AttnConfig attn_from(const json& kw) {
    AttnConfig a;
    if (!kw.contains("attn_layer") || kw.at("attn_layer").is_null()) return a;
    const json& j = kw.at("attn_layer");
    if (j.is_string()) {
        a.name = j.get<std::string>();
    } else {
        a.name = j.at("name").get<std::string>();
        a.rd_ratio = get_or(j, "rd_ratio", a.rd_ratio);
        a.rd_divisor = get_or(j, "rd_divisor", a.rd_divisor);
    }
    return a;
}

SkKwargs sk_from(const json& j) {
    SkKwargs sk;
    sk.rd_ratio = get_or(j, "rd_ratio", sk.rd_ratio);
    sk.rd_divisor = get_or(j, "rd_divisor", sk.rd_divisor);
    sk.split_input = get_or(j, "split_input", sk.split_input);
    if (j.contains("kernel_size")) sk.kernel_size = j.at("kernel_size").get<std::vector<int64_t>>();
    sk.keep_3x3 = get_or(j, "keep_3x3", sk.keep_3x3);
    return sk;
}

ModulePtr downsample_from(const json& spec) {
    if (!spec.contains("downsample") || spec.at("downsample").is_null()) return nullptr;
    const json& d = spec.at("downsample");
    std::string type = d.at("type").get<std::string>();
    check<ValueError>(type == "conv" || type == "avg", "block spec: unknown downsample type '", type, "'");
    return make_downsample(d.at("in_channels").get<int64_t>(), d.at("out_channels").get<int64_t>(),
                           d.at("stride").get<int64_t>(), type == "avg");
}

}  // namespace

std::shared_ptr<Module> build_block_from_spec(const json& spec) {
    std::string builder = spec.at("builder").get<std::string>();
    const json& kw = spec.at("kwargs");
    if (builder == "Bottleneck") {
        BottleneckConfig c;
        c.inplanes = kw.at("inplanes");
        c.planes = kw.at("planes");
        c.stride = get_or<int64_t>(kw, "stride", 1);
        c.cardinality = get_or<int64_t>(kw, "cardinality", 1);
        c.base_width = get_or<int64_t>(kw, "base_width", 64);
        c.attn = attn_from(kw);
        c.downsample = downsample_from(spec);
        return std::make_shared<Bottleneck>(c);
    }
    if (builder == "SelectiveKernelBottleneck" || builder == "SelectiveKernelBasic") {
        SkBlockConfig c;
        c.inplanes = kw.at("inplanes");
        c.planes = kw.at("planes");
        c.stride = get_or<int64_t>(kw, "stride", 1);
        c.cardinality = get_or<int64_t>(kw, "cardinality", 1);
        c.base_width = get_or<int64_t>(kw, "base_width", 64);
        if (kw.contains("sk_kwargs")) c.sk = sk_from(kw.at("sk_kwargs"));
        c.attn = attn_from(kw);
        c.downsample = downsample_from(spec);
        if (builder == "SelectiveKernelBasic") return std::make_shared<SelectiveKernelBasic>(c);
        return std::make_shared<SelectiveKernelBottleneck>(c);
    }
    if (builder == "ResNestBottleneck") {
        ResNestBottleneckConfig c;
        c.inplanes = kw.at("inplanes");
        c.planes = kw.at("planes");
        c.stride = get_or<int64_t>(kw, "stride", 1);
        c.cardinality = get_or<int64_t>(kw, "cardinality", 1);
        c.base_width = get_or<int64_t>(kw, "base_width", 64);
        c.radix = get_or<int64_t>(kw, "radix", 1);
        c.avd = get_or(kw, "avd", false);
        c.avd_first = get_or(kw, "avd_first", false);
        c.downsample = downsample_from(spec);
        return std::make_shared<ResNestBottleneck>(c);
    }
    if (builder == "SplitAttn") {
        SplitAttnConfig c;
        c.in_channels = kw.at("in_channels");
        c.out_channels = get_or<int64_t>(kw, "out_channels", 0);
        c.kernel_size = get_or<int64_t>(kw, "kernel_size", 3);
        c.stride = get_or<int64_t>(kw, "stride", 1);
        c.padding = get_or<int64_t>(kw, "padding", -1);
        c.groups = get_or<int64_t>(kw, "groups", 1);
        c.radix = get_or<int64_t>(kw, "radix", 2);
        c.norm = kw.contains("norm_layer") && !kw.at("norm_layer").is_null();
        return std::make_shared<SplitAttn>(c);
    }
    if (builder == "SelectiveKernel") {
        SelectiveKernelConfig c;
        c.in_channels = kw.at("in_channels");
        c.out_channels = get_or<int64_t>(kw, "out_channels", 0);
        c.stride = get_or<int64_t>(kw, "stride", 1);
        c.dilation = get_or<int64_t>(kw, "dilation", 1);
        c.groups = get_or<int64_t>(kw, "groups", 1);
        c.sk = sk_from(kw);
        return std::make_shared<SelectiveKernel>(c);
    }
    if (builder == "SEModule") {
        return std::make_shared<SEModule>(kw.at("channels").get<int64_t>(), get_or(kw, "rd_ratio", 1.0 / 16),
                                          get_or<int64_t>(kw, "rd_divisor", 8));
    }
    fail<ValueError>("block spec: unknown builder '", builder, "'");
}

}  // namespace cardinal::testing
