// The blocks `cardinal gradcheck --block` knows: timm's attention modules and residual blocks,
// and the seed notes' forms (prefix seed.), each with every option its config has. A block is
// checked through its input and every parameter tensor, in float64.
#include "apps/gradcheck_catalog.h"
#include "autograd/variable.h"
#include "nn/blocks/blocks.h"
#include "nn/blocks/seed/resnext_block.h"
#include "nn/blocks/seed/se_block.h"
#include "nn/blocks/seed/sk_conv.h"
#include "nn/blocks/seed/splat_conv2d.h"
#include "tensor/random.h"

namespace cardinal::apps {
namespace {

template <typename... Args>
void require(bool cond, const Args&... parts) {
    if (!cond) fail<UsageError>(parts...);
}

// The block's generator initialises it and draws its DropBlock / DropPath masks; it is reset
// to the same state before every forward so the masks are the same each time.
using MakeModule = std::function<ModulePtr(const Settings&, int64_t in_channels, Generator*)>;

GradcheckCase module_case(const std::string& name, const MakeModule& make, const Settings& s,
                          const Shape& shape, bool eval, uint64_t seed) {
    require(shape.size() == 4, name, " needs --shape N,C,H,W (4 numbers), got ", shape_str(shape));
    auto gen = std::make_shared<Generator>(seed);
    GradcheckCase c;
    c.module = make(s, shape[1], gen.get());
    c.module->to(DType::Float64);
    c.module->train(!eval);
    if (eval) {
        // Running statistics away from 0 and 1, so eval mode tests how they are used.
        for (auto& [key, buf] : c.module->named_buffers()) {
            const bool mean = key.ends_with("running_mean"), var = key.ends_with("running_var");
            if (!mean && !var) continue;
            Tensor v = mean ? randn(buf.shape(), DType::Float64, gen.get())
                            : uniform(buf.shape(), 0.5, 2.0, DType::Float64, gen.get());
            std::copy(v.data<double>(), v.data<double>() + v.numel(), buf.data<double>());
        }
    }
    Tensor x = set_requires_grad(randn(shape, DType::Float64, gen.get()));
    c.tensors.push_back({"input", x});
    for (const auto& [pname, p] : c.module->named_parameters()) c.tensors.push_back({pname, p});
    const uint64_t offset = gen->offset();
    ModulePtr m = c.module;
    c.forward = [m, gen, x, seed, offset] {
        gen->set_state(seed, offset);
        return m->forward(x);
    };
    return c;
}

CatalogEntry block(std::string name, std::string summary, Shape shape,
                   std::vector<CatalogOption> options, MakeModule make) {
    CatalogEntry e{name, summary, shape, options, nullptr, true};
    e.build = [name, make](const Settings& s, const Shape& sh, bool eval, uint64_t seed) {
        return module_case(name, make, s, sh, eval, seed);
    };
    return e;
}

AttnConfig attn_of(const Settings& s) {
    const std::string a = s.text("attn");
    require(a == "none" || a == "se", "attn must be none or se, got '", a, "'");
    AttnConfig c;
    if (a == "se") c = {"se", s.real("se_rd_ratio"), s.integer("se_rd_divisor")};
    return c;
}

// The shortcut: auto is a 1x1 projection when the block changes shape, else identity.
ModulePtr downsample_of(const Settings& s, int64_t in, int64_t out, Generator* gen) {
    const std::string d = s.text("downsample");
    require(d == "auto" || d == "conv" || d == "avg" || d == "none",
            "downsample must be auto, conv, avg or none, got '", d, "'");
    const int64_t stride = s.integer("stride");
    const bool needed = stride != 1 || in != out;
    require(!(d == "none" && needed),
            "downsample=none needs stride 1 and in channels = out channels (", in, " in, ", out,
            " out, stride ", stride, ")");
    if (d == "none" || (d == "auto" && !needed)) return nullptr;
    return make_downsample(in, out, stride, d == "avg", gen);
}

SkKwargs sk_of(const Settings& s) {
    SkKwargs sk;
    sk.kernel_size = s.integers("kernels");
    sk.split_input = s.flag("split_input");
    sk.keep_3x3 = s.flag("keep_3x3");
    sk.rd_ratio = s.real("rd_ratio");
    sk.rd_divisor = s.integer("rd_divisor");
    sk.rd_channels = s.integer("rd_channels");
    return sk;
}

const std::vector<CatalogOption> kAttnOptions = {
    {"attn", "none", "none or se (an SE module after the last BN)"},
    {"se_rd_ratio", "0.25", "SE reduction ratio"},
    {"se_rd_divisor", "2", "SE width rounded to a multiple of this"}};
const std::vector<CatalogOption> kSkOptions = {
    {"kernels", "3,5", "one path per kernel size"},
    {"split_input", "true", "each path sees its slice of the input channels"},
    {"keep_3x3", "true", "a k x k path is a 3x3 with dilation (k - 1) / 2"},
    {"rd_ratio", "0.25", "attention width ratio"},
    {"rd_divisor", "2", "attention width rounded to a multiple of this"},
    {"rd_channels", "0", "attention width (0: from rd_ratio)"}};

std::vector<CatalogOption> concat(std::vector<CatalogOption> a,
                                  const std::vector<CatalogOption>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

std::vector<CatalogEntry> timm_blocks() {
    std::vector<CatalogEntry> v;
    v.push_back(block(
        "SEModule", "squeeze-and-excitation: y = x * sigmoid(fc2(relu(fc1(mean(x)))))",
        {2, 8, 4, 4},
        {{"rd_ratio", "0.25", "reduction ratio"},
         {"rd_divisor", "2", "width rounded to a multiple of this"}},
        [](const Settings& s, int64_t in, Generator* g) {
            return std::make_shared<SEModule>(in, s.real("rd_ratio"), s.integer("rd_divisor"), g);
        }));
    v.push_back(block("SelectiveKernel",
                      "SK convolution: paths of different receptive fields, softmax over paths",
                      {2, 8, 6, 6},
                      concat({{"out", "0", "output channels (0: same as input)"},
                              {"stride", "1", "stride"},
                              {"dilation", "1", "base dilation"},
                              {"groups", "1", "groups of each path's conv"}},
                             kSkOptions),
                      [](const Settings& s, int64_t in, Generator* g) {
                          return std::make_shared<SelectiveKernel>(SelectiveKernelConfig{
                              in, s.integer("out"), s.integer("stride"), s.integer("dilation"),
                              s.integer("groups"), sk_of(s), g});
                      }));
    v.push_back(block(
        "SplitAttn", "ResNeSt split attention: radix splits, softmax over the radix (rSoftMax)",
        {2, 8, 5, 5},
        {{"out", "0", "output channels (0: same as input)"},
         {"kernel", "3", "kernel size"},
         {"stride", "1", "stride"},
         {"dilation", "1", "dilation"},
         {"groups", "1", "cardinality K"},
         {"radix", "2", "radix R (1: sigmoid gate)"},
         {"rd_ratio", "0.25", "attention width ratio"},
         {"rd_divisor", "8", "attention width rounded to a multiple of this"},
         {"rd_channels", "0", "attention width per radix (0: from rd_ratio)"},
         {"norm", "true", "BatchNorm after the conv and fc1 (false: identity)"},
         {"drop_block_rate", "0.0", "DropBlock after bn0, fixed mask"}},
        [](const Settings& s, int64_t in, Generator* g) {
            SplitAttnConfig c;
            c.in_channels = in;
            c.out_channels = s.integer("out");
            c.kernel_size = s.integer("kernel");
            c.stride = s.integer("stride");
            c.dilation = s.integer("dilation");
            c.padding = c.dilation * (c.kernel_size / 2);
            c.groups = s.integer("groups");
            c.radix = s.integer("radix");
            c.rd_ratio = s.real("rd_ratio");
            c.rd_divisor = s.integer("rd_divisor");
            c.rd_channels = s.integer("rd_channels");
            c.norm = s.flag("norm");
            c.drop_block_rate = s.real("drop_block_rate");
            c.gen = g;
            const int64_t out = c.out_channels > 0 ? c.out_channels : in;
            require(c.groups > 0 && c.radix > 0, "SplitAttn: groups and radix must be at least 1");
            require(in % (c.groups * c.radix) == 0 && out % (c.groups * c.radix) == 0,
                    "SplitAttn: channels (", in, " in, ", out,
                    " out) must be divisible by groups x radix = ", c.groups, " x ", c.radix, " = ",
                    c.groups * c.radix);
            return std::make_shared<SplitAttn>(c);
        }));
    const std::vector<CatalogOption> residual = {
        {"stride", "1", "stride"},
        {"downsample", "auto", "auto, conv, avg or none"},
        {"drop_path_rate", "0.0", "stochastic depth, fixed mask"}};
    v.push_back(block(
        "Bottleneck", "ResNeXt / SE-ResNeXt bottleneck: 1x1, grouped 3x3, 1x1, [SE], + shortcut",
        {2, 16, 5, 5},
        concat(concat({{"planes", "4", "out = planes x 4"},
                       {"cardinality", "2", "groups of the 3x3"},
                       {"base_width", "32", "width = planes x base_width / 64 x cardinality"},
                       {"drop_block_rate", "0.0", "DropBlock after bn2, fixed mask"}},
                      residual),
               kAttnOptions),
        [](const Settings& s, int64_t in, Generator* g) {
            BottleneckConfig c;
            c.inplanes = in;
            c.planes = s.integer("planes");
            c.stride = s.integer("stride");
            c.cardinality = s.integer("cardinality");
            c.base_width = s.integer("base_width");
            c.attn = attn_of(s);
            c.drop_block_rate = s.real("drop_block_rate");
            c.drop_path_rate = s.real("drop_path_rate");
            c.gen = g;
            c.downsample = downsample_of(s, in, c.planes * Bottleneck::expansion, g);
            return std::make_shared<Bottleneck>(c);
        }));
    v.push_back(block("BasicBlock", "ResNet basic block: 3x3, 3x3, [SE], + shortcut", {2, 8, 5, 5},
                      concat(concat({{"planes", "8", "output channels"}}, residual), kAttnOptions),
                      [](const Settings& s, int64_t in, Generator* g) {
                          BasicBlockConfig c;
                          c.inplanes = in;
                          c.planes = s.integer("planes");
                          c.stride = s.integer("stride");
                          c.attn = attn_of(s);
                          c.drop_path_rate = s.real("drop_path_rate");
                          c.gen = g;
                          c.downsample = downsample_of(s, in, c.planes, g);
                          return std::make_shared<BasicBlock>(c);
                      }));
    v.push_back(block(
        "SelectiveKernelBasic", "SKNet basic block: SK conv, 3x3, [SE], + shortcut", {2, 8, 6, 6},
        concat(concat(concat({{"planes", "8", "output channels"}}, residual), kSkOptions),
               kAttnOptions),
        [](const Settings& s, int64_t in, Generator* g) {
            SkBlockConfig c;
            c.inplanes = in;
            c.planes = s.integer("planes");
            c.stride = s.integer("stride");
            c.sk = sk_of(s);
            c.attn = attn_of(s);
            c.drop_path_rate = s.real("drop_path_rate");
            c.gen = g;
            c.downsample = downsample_of(s, in, c.planes, g);
            return std::make_shared<SelectiveKernelBasic>(c);
        }));
    v.push_back(block(
        "SelectiveKernelBottleneck", "SKNet bottleneck: 1x1, SK conv, 1x1, [SE], + shortcut",
        {2, 16, 6, 6},
        concat(
            concat(concat({{"planes", "4", "out = planes x 4"},
                           {"cardinality", "1", "groups of the SK paths"},
                           {"base_width", "64", "width = planes x base_width / 64 x cardinality"}},
                          residual),
                   kSkOptions),
            kAttnOptions),
        [](const Settings& s, int64_t in, Generator* g) {
            SkBlockConfig c;
            c.inplanes = in;
            c.planes = s.integer("planes");
            c.stride = s.integer("stride");
            c.cardinality = s.integer("cardinality");
            c.base_width = s.integer("base_width");
            c.sk = sk_of(s);
            c.attn = attn_of(s);
            c.drop_path_rate = s.real("drop_path_rate");
            c.gen = g;
            c.downsample = downsample_of(s, in, c.planes * SelectiveKernelBottleneck::expansion, g);
            return std::make_shared<SelectiveKernelBottleneck>(c);
        }));
    v.push_back(block(
        "ResNestBottleneck", "ResNeSt bottleneck: 1x1, [avd], SplitAttn, [avd], 1x1, + shortcut",
        {2, 16, 6, 6},
        concat(
            {{"planes", "4", "out = planes x 4"},
             {"cardinality", "1", "cardinality K of the SplitAttn"},
             {"base_width", "64", "group width = planes x base_width / 64 x cardinality"},
             {"radix", "2", "radix R"},
             {"avd", "false", "stride with an average pool instead of the 3x3 (when stride > 1)"},
             {"avd_first", "false", "the avd pool before the SplitAttn (false: after)"},
             {"drop_block_rate", "0.0", "DropBlock in the SplitAttn, fixed mask"}},
            residual),
        [](const Settings& s, int64_t in, Generator* g) {
            ResNestBottleneckConfig c;
            c.inplanes = in;
            c.planes = s.integer("planes");
            c.stride = s.integer("stride");
            c.cardinality = s.integer("cardinality");
            c.base_width = s.integer("base_width");
            c.radix = s.integer("radix");
            c.avd = s.flag("avd");
            c.avd_first = s.flag("avd_first");
            c.drop_block_rate = s.real("drop_block_rate");
            c.drop_path_rate = s.real("drop_path_rate");
            c.gen = g;
            c.downsample = downsample_of(s, in, c.planes * ResNestBottleneck::expansion, g);
            return std::make_shared<ResNestBottleneck>(c);
        }));
    return v;
}

std::vector<CatalogEntry> seed_blocks() {
    std::vector<CatalogEntry> v;
    const std::vector<CatalogOption> resnext = {
        {"cardinality", "2", "groups of the 3x3"},
        {"group_depth", "4", "channels per group (out = 2 x cardinality x group_depth)"},
        {"stride", "1", "stride"}};
    v.push_back(block(
        "seed.ResNeXt_Block", "the seed notes' ResNeXt block (always a projection shortcut)",
        {2, 8, 5, 5}, resnext, [](const Settings& s, int64_t in, Generator* g) {
            return std::make_shared<seed::ResNeXtBlock>(
                in, s.integer("cardinality"), s.integer("group_depth"), s.integer("stride"), g);
        }));
    v.push_back(block(
        "seed.SE_ResNeXt_Block", "the seed ResNeXt block with its SE gate (C // 16 wide)",
        {2, 8, 5, 5},
        {{"cardinality", "2", "groups of the 3x3"},
         {"group_depth", "4", "channels per group (out = 2 x cardinality x group_depth >= 16)"},
         {"stride", "1", "stride"}},
        [](const Settings& s, int64_t in, Generator* g) {
            return std::make_shared<seed::SEResNeXtBlock>(
                in, s.integer("cardinality"), s.integer("group_depth"), s.integer("stride"), g);
        }));
    v.push_back(block("seed.SEBlock", "the seed SE gate: rd = C // 16, biases on both convs",
                      {2, 16, 3, 3}, {}, [](const Settings&, int64_t in, Generator* g) {
                          return std::make_shared<seed::SEBlock>(in, g);
                      }));
    v.push_back(block("seed.SKConv",
                      "the seed SK convolution: M branches, dilation i + 1, groups 32",
                      {2, 32, 4, 4},
                      {{"out", "32", "output channels (a multiple of 32)"},
                       {"stride", "1", "stride"},
                       {"M", "2", "number of branches"},
                       {"r", "16", "reduction: d = max(in // r, L)"},
                       {"L", "32", "the smallest attention width"}},
                      [](const Settings& s, int64_t in, Generator* g) {
                          return std::make_shared<seed::SKConv>(in, s.integer("out"),
                                                                s.integer("stride"), s.integer("M"),
                                                                s.integer("r"), s.integer("L"), g);
                      }));
    v.push_back(block("seed.SplAtConv2d",
                      "the early official split-attention conv (plain [R][C] view)", {2, 8, 5, 5},
                      {{"channels", "8", "output channels C"},
                       {"kernel", "3", "kernel size"},
                       {"stride", "1", "stride"},
                       {"padding", "1", "padding"},
                       {"dilation", "1", "dilation"},
                       {"groups", "1", "cardinality K"},
                       {"bias", "true", "conv bias"},
                       {"radix", "2", "radix R"},
                       {"reduction_factor", "4", "inter = max(in x R // this, 32)"},
                       {"rectify", "false", "rectified conv (with padding > 0)"},
                       {"rectify_avg", "false", "rectified conv's average mode"},
                       {"dropblock_prob", "0.0", "DropBlock after bn0, fixed mask"}},
                      [](const Settings& s, int64_t in, Generator* g) {
                          const int64_t C = s.integer("channels"), K = s.integer("groups"),
                                        R = s.integer("radix");
                          require(K > 0 && R > 0,
                                  "seed.SplAtConv2d: groups and radix must be at least 1");
                          require(in % (K * R) == 0 && C % K == 0, "seed.SplAtConv2d: in channels ",
                                  in, " must be divisible by groups x radix = ", K * R,
                                  " and channels ", C, " by groups ", K);
                          seed::SplAtConv2dOptions o(in, C, s.integer("kernel"));
                          o.stride(s.integer("stride"))
                              .padding(s.integer("padding"))
                              .dilation(s.integer("dilation"))
                              .groups(K)
                              .bias(s.flag("bias"))
                              .radix(R)
                              .reduction_factor(s.integer("reduction_factor"))
                              .rectify(s.flag("rectify"))
                              .rectify_avg(s.flag("rectify_avg"))
                              .dropblock_prob(s.real("dropblock_prob"));
                          return std::make_shared<seed::SplAtConv2d>(o, g, g);
                      }));
    return v;
}

}  // namespace

const std::vector<CatalogEntry>& gradcheck_blocks() {
    static const std::vector<CatalogEntry> blocks = [] {
        std::vector<CatalogEntry> v = timm_blocks();
        for (CatalogEntry& e : seed_blocks()) v.push_back(std::move(e));
        return v;
    }();
    return blocks;
}

}  // namespace cardinal::apps
