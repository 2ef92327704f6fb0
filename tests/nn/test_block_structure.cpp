// Full-size blocks have exactly timm's names, order and shapes: layer1.0 and layer2.0 of nine
// named models, compared with timm's keys (extracted into tests/data/timm_block_keys.tsv:
// model, name, shape, dtype). Also make_divisible against docs/timm-configs.md section 5.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include "nn/blocks/blocks.h"
#include "ops/activation.h"

using namespace cardinal;

namespace {

using KeyList = std::vector<std::pair<std::string, std::string>>;  // name, "shape dtype"

std::map<std::string, KeyList> read_keys() {
    std::ifstream in(std::string(CARDINAL_TEST_DATA) + "/timm_block_keys.tsv");
    REQUIRE(in.good());
    std::map<std::string, KeyList> out;
    std::string line;
    while (std::getline(in, line)) {
        std::stringstream ss(line);
        std::string model, name, shape, dtype;
        std::getline(ss, model, '\t');
        std::getline(ss, name, '\t');
        std::getline(ss, shape, '\t');
        std::getline(ss, dtype, '\t');
        out[model].emplace_back(name, shape + " " + dtype);
    }
    return out;
}

KeyList keys_of(const Module& m, const std::string& prefix) {
    KeyList out;
    for (const auto& [name, t] : m.state_dict(prefix)) {
        std::string shape;
        for (size_t i = 0; i < t.shape().size(); ++i) shape += (i ? "," : "") + std::to_string(t.shape()[i]);
        out.emplace_back(name, shape + " " + (t.dtype() == DType::Int64 ? "I64" : "F32"));
    }
    return out;
}

enum class Kind { Bottleneck, SkBottleneck, SkBasic, ResNest };

struct ModelCase {
    const char* name;
    Kind kind;
    int64_t cardinality, base_width, stem_out;
    bool avg_down;
    AttnConfig attn{};
    SkKwargs sk{};
    int64_t radix = 0;
    bool avd_first = false;
};

ModulePtr build(const ModelCase& m, int layer) {
    int64_t expansion = m.kind == Kind::SkBasic ? 1 : 4;
    int64_t planes = layer == 1 ? 64 : 128;
    int64_t inplanes = layer == 1 ? m.stem_out : 64 * expansion;
    int64_t stride = layer == 1 ? 1 : 2;
    ModulePtr ds;
    if (stride != 1 || inplanes != planes * expansion)
        ds = make_downsample(inplanes, planes * expansion, stride, m.avg_down);
    switch (m.kind) {
        case Kind::Bottleneck:
            return std::make_shared<Bottleneck>(BottleneckConfig{.inplanes = inplanes, .planes = planes,
                                                                 .stride = stride, .cardinality = m.cardinality,
                                                                 .base_width = m.base_width, .attn = m.attn,
                                                                 .downsample = ds});
        case Kind::SkBottleneck:
        case Kind::SkBasic: {
            SkBlockConfig c{.inplanes = inplanes, .planes = planes, .stride = stride, .cardinality = m.cardinality,
                            .base_width = m.base_width, .sk = m.sk, .downsample = ds};
            if (m.kind == Kind::SkBasic) return std::make_shared<SelectiveKernelBasic>(c);
            return std::make_shared<SelectiveKernelBottleneck>(c);
        }
        case Kind::ResNest:
            return std::make_shared<ResNestBottleneck>(ResNestBottleneckConfig{
                .inplanes = inplanes, .planes = planes, .stride = stride, .cardinality = m.cardinality,
                .base_width = m.base_width, .radix = m.radix, .avd = true, .avd_first = m.avd_first,
                .downsample = ds});
    }
    return nullptr;
}

}  // namespace

TEST_CASE("full-size blocks match timm's state_dict names, order and shapes", "[nn][blocks]") {
    auto keys = read_keys();
    SkKwargs skx{.rd_ratio = 1.0 / 16, .rd_divisor = 32, .split_input = false};
    SkKwargs sk18{.rd_ratio = 1.0 / 8, .rd_divisor = 16, .split_input = true};
    const ModelCase cases[] = {
        {"resnext50_32x4d", Kind::Bottleneck, 32, 4, 64, false},
        {"seresnext50_32x4d", Kind::Bottleneck, 32, 4, 64, false, {"se"}},
        {"resnet50d", Kind::Bottleneck, 1, 64, 64, true},
        {"skresnext50_32x4d", Kind::SkBottleneck, 32, 4, 64, false, {}, skx},
        {"skresnet18", Kind::SkBasic, 1, 64, 64, false, {}, sk18},
        {"resnest50d", Kind::ResNest, 1, 64, 64, true, {}, {}, 2, false},
        {"resnest101e", Kind::ResNest, 1, 64, 128, true, {}, {}, 2, false},
        {"resnest50d_4s2x40d", Kind::ResNest, 2, 40, 64, true, {}, {}, 4, true},
        {"resnest50d_1s4x24d", Kind::ResNest, 4, 24, 64, true, {}, {}, 1, true},
    };
    for (const auto& m : cases) {
        for (int layer : {1, 2}) {
            std::string prefix = "layer" + std::to_string(layer) + ".0.";
            KeyList expected;
            for (const auto& kv : keys.at(m.name))
                if (kv.first.rfind(prefix, 0) == 0) expected.push_back(kv);
            REQUIRE(!expected.empty());
            KeyList ours = keys_of(*build(m, layer), prefix);
            INFO(m.name << " " << prefix);
            CHECK(ours == expected);
        }
    }
}

TEST_CASE("make_divisible follows timm (docs/timm-configs.md section 5)", "[nn][blocks]") {
    // SE: round_limit 0, so never bumped.
    for (int64_t c : {256, 512, 1024, 2048}) CHECK(make_divisible(c / 16.0, 8, 0, 0.0) == c / 16);
    CHECK(make_divisible(64 / 16.0, 8, 0, 0.0) == 8);  // at least the divisor
    // SK: skresnext50 (1/16, 32) and skresnet18 (1/8, 16).
    CHECK(make_divisible(128 / 16.0, 32) == 32);
    CHECK(make_divisible(1024 / 16.0, 32) == 64);
    CHECK(make_divisible(128 / 8.0, 16) == 16);
    CHECK(make_divisible(256 / 8.0, 16) == 32);
    // SplitAttn: make_divisible(gw * radix / 4, 8, min 32).
    CHECK(make_divisible(80 * 4 * 0.25, 8, 32) == 80);
    CHECK(make_divisible(96 * 1 * 0.25, 8, 32) == 32);
    CHECK(make_divisible(192 * 1 * 0.25, 8, 32) == 48);
    CHECK(make_divisible(144 * 0.25, 8, 32) == 40);  // the reference code would give 36
    // Ties round up; a loss of more than 10% is bumped.
    CHECK(make_divisible(12, 8) == 16);
    CHECK(make_divisible(19, 16) == 32);  // 16 < 0.9 * 19
    CHECK_THROWS_AS(make_divisible(8, 0), ValueError);
    CHECK_THROWS_AS(make_divisible(0, 8), ValueError);
}

TEST_CASE("block geometry: attention widths and output shapes", "[nn][blocks]") {
    SplitAttn sa(SplitAttnConfig{.in_channels = 80, .groups = 2, .radix = 4});
    CHECK(sa.attn_channels() == 80);
    SelectiveKernel sk(SelectiveKernelConfig{.in_channels = 64, .sk = {.rd_ratio = 1.0 / 8, .rd_divisor = 16}});
    CHECK(sk.attn_channels() == 16);
    ResNestBottleneck r(ResNestBottleneckConfig{.inplanes = 8, .planes = 4, .stride = 2, .radix = 2, .avd = true,
                                                .downsample = make_downsample(8, 16, 2, true)});
    CHECK(r.forward(randn({2, 8, 7, 5})).shape() == Shape{2, 16, 4, 3});
    Bottleneck b(BottleneckConfig{.inplanes = 8, .planes = 4, .stride = 2, .cardinality = 2, .base_width = 32,
                                  .downsample = make_downsample(8, 16, 2, false)});
    CHECK(b.width() == 4);
    CHECK(b.forward(randn({2, 8, 7, 5})).shape() == Shape{2, 16, 4, 3});
    // zero_init_last: the branch is zero, so the block is relu(shortcut).
    b.zero_init_last();
    b.eval();
    Tensor x = randn({2, 8, 7, 5});
    Sequential& ds = dynamic_cast<Sequential&>(*b.children().back().second);
    CHECK(max_abs_diff(b.forward(x), relu(ds.forward(x))) == 0.0);
}
