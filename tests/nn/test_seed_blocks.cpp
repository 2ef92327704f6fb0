// Seed-form blocks: float64 gradcheck of every block (train mode, small shapes, input and every
// parameter), structure (names, shapes), and clear errors for bad configurations.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "autograd/gradcheck.h"
#include "autograd/variable.h"
#include "nn/blocks/seed/resnext_block.h"
#include "nn/blocks/seed/se_block.h"
#include "nn/blocks/seed/sk_conv.h"
#include "nn/blocks/seed/splat_conv2d.h"
#include "tensor/random.h"

using namespace cardinal;
using namespace cardinal::seed;

namespace {

// Gradchecks module(x) in train mode with respect to x and every parameter. BN running
// statistics change on every forward but do not enter the train-mode output.
GradcheckResult gradcheck_module(Module& m, const Shape& input_shape, uint64_t seed,
                                 bool fast = false) {
    m.to(DType::Float64);
    m.train();
    Generator gen(seed);
    // Moves BN weights away from 1 and biases away from 0 so that every path is exercised.
    for (auto& [name, p] : m.named_parameters()) {
        if (name.find("bn") != std::string::npos || name.find(".1.") != std::string::npos) {
            Tensor r = uniform(p.shape(), 0.5, 1.5, DType::Float64, &gen);
            if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0)
                r = uniform(p.shape(), -0.3, 0.3, DType::Float64, &gen);
            p.copy_(r);
        }
    }
    Tensor x = set_requires_grad(randn(input_shape, DType::Float64, &gen));
    std::vector<Tensor> inputs{x};
    for (const Tensor& p : m.parameters()) inputs.push_back(p);
    GradcheckOptions opt;
    opt.cotangents = 1;
    opt.fast_mode = fast;
    opt.fast_directions = 8;
    return gradcheck([&m](const std::vector<Tensor>& in) { return m.forward(in[0]); }, inputs, opt);
}

std::vector<std::string> names_of(const NamedTensors& list) {
    std::vector<std::string> out;
    for (const auto& [n, _] : list) out.push_back(n);
    return out;
}

}  // namespace

TEST_CASE("seed BNConv2d gradcheck", "[seed][gradcheck]") {
    BNConv2d m(4, 6, 3, 2, 1, 1, 2);
    auto r = gradcheck_module(m, {3, 4, 5, 4}, 11);
    INFO(r.message);
    CHECK(r.ok);
    CHECK(names_of(m.state_dict()) ==
          std::vector<std::string>{"conv.weight", "bn.weight", "bn.bias", "bn.running_mean",
                                   "bn.running_var", "bn.num_batches_tracked"});
}

TEST_CASE("seed ResNeXt_Block gradcheck", "[seed][gradcheck]") {
    ResNeXtBlock m(4, 2, 2, 2);  // gc 4, out 8, stride 2
    auto r = gradcheck_module(m, {3, 4, 5, 3}, 12);
    INFO(r.message);
    CHECK(r.ok);
}

TEST_CASE("seed SE_ResNeXt_Block and SEBlock gradcheck", "[seed][gradcheck]") {
    SECTION("SE_ResNeXt_Block") {
        SEResNeXtBlock m(8, 2, 4, 1);  // out 16, rd 1
        auto r = gradcheck_module(m, {2, 8, 3, 4}, 13);
        INFO(r.message);
        CHECK(r.ok);
        auto names = names_of(m.named_parameters());
        CHECK(names.back() == "se.3.bias");
        CHECK(names[names.size() - 4] == "se.1.weight");
    }
    SECTION("SEBlock") {
        SEBlock m(32);  // rd 2
        auto r = gradcheck_module(m, {2, 32, 3, 3}, 14);
        INFO(r.message);
        CHECK(r.ok);
    }
}

TEST_CASE("seed SKConv gradcheck (M = 2 and 3)", "[seed][gradcheck]") {
    SECTION("M=2 stride 1") {
        SKConv m(32, 32, 1, 2, 16, 8);  // d = max(2, 8) = 8
        auto r = gradcheck_module(m, {3, 32, 4, 3}, 15);
        INFO(r.message);
        CHECK(r.ok);
    }
    SECTION("M=3 stride 2") {
        SKConv m(32, 32, 2, 3, 4, 4);  // d = max(8, 4) = 8; dilations 1, 2, 3
        CHECK(m.attention_channels() == 8);
        auto r = gradcheck_module(m, {3, 32, 5, 4}, 16);
        INFO(r.message);
        CHECK(r.ok);
        CHECK(m.named_parameters()[6].first == "conv.2.0.weight");
    }
}

TEST_CASE("seed SplAtConv2d gradcheck over radix, cardinality and rectify", "[seed][gradcheck]") {
    struct Case {
        int64_t in, channels, radix, groups;
        bool bias, rectify, avg;
        int64_t stride;
    };
    const Case cases[] = {
        {4, 4, 1, 1, true, false, false, 1},  {8, 8, 1, 2, false, false, false, 1},
        {4, 4, 2, 1, true, false, false, 1},  {8, 8, 2, 2, false, false, false, 1},
        {8, 4, 4, 1, false, false, false, 1}, {8, 8, 4, 2, true, false, false, 2},
        {4, 4, 2, 1, false, true, false, 2},  {4, 4, 2, 1, true, true, false, 1},
        {4, 4, 2, 1, false, true, true, 1},   {8, 8, 2, 2, true, true, true, 2},
    };
    uint64_t seed = 20;
    for (const Case& c : cases) {
        SplAtConv2dOptions o(c.in, c.channels, 3);
        o.padding(1).stride(c.stride).radix(c.radix).groups(c.groups).bias(c.bias).rectify(c.rectify)
            .rectify_avg(c.avg);
        SplAtConv2d m(o);
        CHECK(m.rectified() == c.rectify);
        INFO("radix " << c.radix << " groups " << c.groups << " bias " << c.bias << " rectify "
                      << c.rectify << " avg " << c.avg << " stride " << c.stride);
        auto r = gradcheck_module(m, {3, c.in, 5, 4}, seed++);
        INFO(r.message);
        CHECK(r.ok);
    }
}

TEST_CASE("seed SplAtConv2d structure", "[seed]") {
    SplAtConv2d m(SplAtConv2dOptions(64, 64, 3).padding(1).groups(2).bias(false));
    CHECK(m.inter_channels() == 32);
    CHECK(names_of(m.state_dict()) ==
          std::vector<std::string>{"conv.weight", "bn0.weight", "bn0.bias", "bn0.running_mean",
                                   "bn0.running_var", "bn0.num_batches_tracked", "fc1.weight",
                                   "fc1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean",
                                   "bn1.running_var", "bn1.num_batches_tracked", "fc2.weight",
                                   "fc2.bias"});
    auto params = m.named_parameters();
    CHECK(params[0].second.shape() == Shape{128, 16, 3, 3});
    CHECK(params[7].second.shape() == Shape{128, 16, 1, 1});  // fc2.weight
    // rectify with padding 0 builds a plain conv, as the document does.
    SplAtConv2d plain(SplAtConv2dOptions(32, 32, 3).rectify(true).rectify_avg(true));
    CHECK_FALSE(plain.rectified());
    // Default bias=True: conv.bias is the second entry.
    SplAtConv2d biased(SplAtConv2dOptions(32, 32, 3).padding(1));
    CHECK(biased.named_parameters()[1].first == "conv.bias");
}

TEST_CASE("seed SplAtConv2d with DropBlock: identity in eval, drops in train", "[seed]") {
    Generator init(3), drop(4);
    SplAtConv2d m(SplAtConv2dOptions(8, 8, 3).padding(1).dropblock_prob(0.3), &init, &drop);
    m.to(DType::Float64);
    Generator g(5);
    Tensor x = randn({2, 8, 6, 6}, DType::Float64, &g);
    SplAtConv2d ref(SplAtConv2dOptions(8, 8, 3).padding(1), &init, &drop);
    ref.to(DType::Float64);
    ref.load_state_dict(m.state_dict());
    m.eval();
    ref.eval();
    CHECK(max_abs_diff(m.forward(x), ref.forward(x)) == 0);
    m.train();
    ref.train();
    CHECK(max_abs_diff(m.forward(x), ref.forward(x)) > 0);
}

TEST_CASE("seed blocks reject bad configurations with clear errors", "[seed]") {
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(SplAtConv2d(SplAtConv2dOptions(36, 36, 3).groups(2).radix(4)),
                      Contains("SplAtConv2d") && Contains("divisible by groups*radix = 8"));
    CHECK_THROWS_WITH(SplAtConv2d(SplAtConv2dOptions(32, 32, 3).radix(0)),
                      Contains("radix must be at least 1"));
    CHECK_THROWS_WITH(SplAtConv2d(SplAtConv2dOptions(32, 32, 3).reduction_factor(0)),
                      Contains("reduction_factor must be at least 1"));
    CHECK_THROWS_WITH(SplAtConv2d(SplAtConv2dOptions(32, 30, 3).groups(4).radix(1)),
                      Contains("channels (30) must be divisible by groups (4)"));
    CHECK_THROWS_WITH(SplAtConv2d(SplAtConv2dOptions(48, 48, 3).groups(3).radix(1)),
                      Contains("attention width") && Contains("= 32"));
    CHECK_THROWS_WITH(SplAtConv2d(SplAtConv2dOptions(32, 32, 3).dropblock_prob(1.0)),
                      Contains("dropblock_prob"));
    CHECK_THROWS_AS(SplAtConv2d(SplAtConv2dOptions(32, 32, 3).groups(0)), ValueError);

    CHECK_THROWS_WITH(SKConv(48, 64), Contains("multiples of 32"));
    CHECK_THROWS_WITH(SKConv(64, 64, 1, 0), Contains("M (the number of branches)"));
    CHECK_THROWS_WITH(SKConv(64, 64, 1, 2, 0), Contains("r (the reduction)"));
    CHECK_THROWS_WITH(SKConv(64, 64, 0), Contains("stride must be positive"));

    CHECK_THROWS_WITH(SEBlock(8), Contains("at least 16"));
    CHECK_THROWS_WITH(ResNeXtBlock(32, 0, 4, 1), Contains("must be positive"));
    CHECK_THROWS_WITH(SEResNeXtBlock(8, 2, 2, 1), Contains("at least 16"));

    // Wrong input channels are shape errors naming the block.
    SKConv sk(32, 32);
    CHECK_THROWS_WITH(sk.forward(zeros({2, 16, 4, 4})), Contains("SKConv: expected input [N, 32"));
    SplAtConv2d sp(SplAtConv2dOptions(8, 8, 3).padding(1));
    CHECK_THROWS_AS(sp.forward(zeros({2, 4, 4, 4})), ShapeError);
    ResNeXtBlock rx(8, 2, 2, 1);
    CHECK_THROWS_WITH(rx.forward(zeros({2, 4, 4, 4})), Contains("ResNeXt_Block: expected input"));
}
