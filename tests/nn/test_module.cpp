// Module: names, state_dict order, strict / non-strict load, modes, dtype conversion, repr,
// parameter counts.
#include <catch2/catch.hpp>

#include <sstream>

#include "autograd/variable.h"
#include "nn/blocks/blocks.h"
#include "nn/layers/layers.h"

using namespace cardinal;
using Catch::Matchers::Contains;

namespace {

// A two-level network: stem conv + bn, then a Sequential of two SE bottlenecks.
struct Net : Module {
    std::shared_ptr<Conv2d> conv1;
    std::shared_ptr<BatchNorm2d> bn1;
    std::shared_ptr<Sequential> layer1;
    Net() {
        conv1 = register_module("conv1", std::make_shared<Conv2d>(Conv2dOptions(3, 16, 3).padding(1).bias(false)));
        bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(16));
        layer1 = register_module("layer1", std::make_shared<Sequential>());
        BottleneckConfig b0{.inplanes = 16, .planes = 8, .cardinality = 2, .base_width = 32,
                            .attn = {"se"}, .downsample = make_downsample(16, 32, 1, false)};
        layer1->push_back(std::make_shared<Bottleneck>(b0));
        BottleneckConfig b1{.inplanes = 32, .planes = 8, .cardinality = 2, .base_width = 32, .attn = {"se"}};
        layer1->push_back(std::make_shared<Bottleneck>(b1));
    }
    Tensor forward(const Tensor& x) override { return layer1->forward(bn1->forward(conv1->forward(x))); }
    std::string type_name() const override { return "Net"; }
};

std::vector<std::string> names_of(const NamedTensors& list) {
    std::vector<std::string> out;
    for (const auto& [n, _] : list) out.push_back(n);
    return out;
}

}  // namespace

TEST_CASE("module names compose with dots in registration order", "[nn][module]") {
    Net net;
    auto names = names_of(net.state_dict());
    std::vector<std::string> head = {"conv1.weight",           "bn1.weight",
                                     "bn1.bias",               "bn1.running_mean",
                                     "bn1.running_var",        "bn1.num_batches_tracked",
                                     "layer1.0.conv1.weight",  "layer1.0.bn1.weight"};
    REQUIRE(names.size() > head.size());
    CHECK(std::vector<std::string>(names.begin(), names.begin() + head.size()) == head);
    // se after bn3, downsample last in block 0, then block 1.
    auto pos = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) - names.begin(); };
    CHECK(pos("layer1.0.se.fc1.weight") < static_cast<long>(names.size()));
    CHECK(pos("layer1.0.bn3.num_batches_tracked") < pos("layer1.0.se.fc1.weight"));
    CHECK(pos("layer1.0.se.fc2.bias") < pos("layer1.0.downsample.0.weight"));
    CHECK(pos("layer1.0.downsample.1.num_batches_tracked") < pos("layer1.1.conv1.weight"));
    CHECK(names.back() == "layer1.1.se.fc2.bias");
    // named_parameters has no buffers, named_buffers no parameters.
    for (const auto& n : names_of(net.named_parameters())) CHECK_THAT(n, !Contains("running"));
    // 8 BNs (stem, 3 + downsample in block 0, 3 in block 1), 3 buffers each.
    CHECK(names_of(net.named_buffers()).size() == 8 * 3);
    auto modules = net.named_modules();
    CHECK(modules[0].first.empty());
    CHECK(std::any_of(modules.begin(), modules.end(),
                      [](const auto& m) { return m.first == "layer1.0.se.fc1"; }));
}

TEST_CASE("parameter counts", "[nn][module]") {
    Conv2d conv(Conv2dOptions(8, 16, 3).groups(4));
    CHECK(conv.num_parameters() == 16 * 2 * 9 + 16);
    Linear fc(10, 3);
    CHECK(fc.num_parameters() == 33);
    BatchNorm2d bn(7);
    CHECK(bn.num_parameters() == 14);
    // SE(64): rd 8 -> 8*64 + 8 + 64*8 + 64.
    SEModule se(64);
    CHECK(se.rd_channels() == 8);
    CHECK(se.num_parameters() == 8 * 64 + 8 + 64 * 8 + 64);
}

TEST_CASE("strict load lists every problem in one message", "[nn][module]") {
    Net net;
    NamedTensors dict = net.state_dict();
    NamedTensors bad;
    for (auto& [n, t] : dict) {
        if (n == "bn1.weight") continue;                                        // missing
        if (n == "conv1.weight") { bad.emplace_back(n, zeros({16, 3, 1, 1})); continue; }  // shape
        bad.emplace_back(n, t.clone());
    }
    bad.emplace_back("layer1.0.se.fc3.weight", zeros({1}));  // unexpected
    try {
        net.load_state_dict(bad);
        FAIL("expected a ValueError");
    } catch (const ValueError& e) {
        std::string msg = e.what();
        CHECK_THAT(msg, Contains("load_state_dict: the state dict does not fit this Net"));
        CHECK_THAT(msg, Contains("missing keys (1): bn1.weight"));
        CHECK_THAT(msg, Contains("unexpected keys (1): layer1.0.se.fc3.weight [1]"));
        CHECK_THAT(msg, Contains("conv1.weight: expected shape [16, 3, 3, 3], got [16, 3, 1, 1]"));
        CHECK(msg.find('\n') == std::string::npos);  // one line, as the CLI prints errors
    }
    // A dtype mismatch is a mismatch too.
    NamedTensors wrong_dtype = net.state_dict();
    for (auto& [n, t] : wrong_dtype)
        if (n == "bn1.bias") t = t.to(DType::Float64);
    CHECK_THROWS_WITH(net.load_state_dict(wrong_dtype), Contains("bn1.bias: expected float32, got float64"));
}

TEST_CASE("load copies values; non-strict ignores missing and unexpected keys", "[nn][module]") {
    Net a, b;
    Generator gen(3);
    for (auto& [n, t] : a.state_dict())
        if (is_floating(t.dtype())) t.copy_(randn(t.shape(), DType::Float32, &gen));
    b.load_state_dict(a.state_dict());
    auto sa = a.state_dict(), sb = b.state_dict();
    for (size_t i = 0; i < sa.size(); ++i) CHECK(max_abs_diff(sa[i].second, sb[i].second) == 0.0);
    // The loaded tensors are copies, not shared.
    CHECK_FALSE(sa[0].second.storage() == sb[0].second.storage());

    Net c;
    NamedTensors partial = {{"conv1.weight", sa[0].second}, {"not.a.key", zeros({2})}};
    CHECK_THROWS_AS(c.load_state_dict(partial), ValueError);
    LoadStateReport r = c.load_state_dict(partial, {.strict = false});
    CHECK(max_abs_diff(c.state_dict()[0].second, sa[0].second) == 0.0);
    // The report says what was left out.
    CHECK(r.unexpected == std::vector<std::string>{"not.a.key"});
    CHECK(r.missing.size() == sa.size() - 1);
    CHECK(r.missing.front() == "bn1.weight");
    CHECK(r.skipped.empty());
    CHECK(r.converted.empty());
    // Non-strict still refuses a shape mismatch.
    CHECK_THROWS_AS(c.load_state_dict({{"conv1.weight", zeros({1})}}, {.strict = false}), ValueError);
}

TEST_CASE("load converts floating dtypes only when asked, and reports them", "[nn][module]") {
    Net a, b;
    Generator gen(5);
    NamedTensors wide;  // a float64 copy of a's state, as a float64 run would save it
    for (auto& [n, t] : a.state_dict()) {
        if (is_floating(t.dtype())) t.copy_(randn(t.shape(), DType::Float32, &gen));
        wide.emplace_back(n, is_floating(t.dtype()) ? t.to(DType::Float64) : t.clone());
    }
    CHECK_THROWS_WITH(b.load_state_dict(wide), Contains("conv1.weight: expected float32, got float64"));
    LoadStateReport r = b.load_state_dict(wide, {.convert_dtype = true});
    CHECK(r.converted.size() == a.named_parameters().size() + 8 * 2);  // + running mean / var
    CHECK(r.converted.front() == "conv1.weight");
    CHECK(b.state_dict()[0].second.dtype() == DType::Float32);
    CHECK(max_abs_diff(b.state_dict()[0].second, a.state_dict()[0].second) == 0.0);
    // An integer counter is never filled from a float, converting or not.
    for (auto& [n, t] : wide)
        if (n == "bn1.num_batches_tracked") t = zeros({}, DType::Float32);
    CHECK_THROWS_WITH(b.load_state_dict(wide, {.convert_dtype = true}),
                      Contains("bn1.num_batches_tracked: expected int64, got float32"));
}

TEST_CASE("load skips a classifier of another class count only when asked", "[nn][module]") {
    Sequential src{std::make_shared<Linear>(4, 5)}, dst{std::make_shared<Linear>(4, 3)};
    const LoadStateOptions head{.skip_classifier_mismatch = true, .classifier = "0"};
    CHECK_THROWS_WITH(dst.load_state_dict(src.state_dict()),
                      Contains("0.weight: expected shape [3, 4], got [5, 4]"));
    const std::vector<double> before = dst.state_dict()[0].second.to_vector();
    LoadStateReport r = dst.load_state_dict(src.state_dict(), head);
    CHECK(r.skipped == std::vector<std::string>{"0.weight", "0.bias"});
    REQUIRE(r.notes.size() == 2);
    CHECK(r.notes[0] == "skipped 0.weight: 5 classes [5, 4] given, the model has 3 [3, 4]; it "
                        "keeps its initial values");
    CHECK(dst.state_dict()[0].second.to_vector() == before);
    // Another feature count is not a class-count change: still refused.
    Sequential wider{std::make_shared<Linear>(6, 5)};
    CHECK_THROWS_WITH(dst.load_state_dict(wider.state_dict(), head),
                      Contains("0.weight: expected shape [3, 4], got [5, 6]"));
    // Nor is a mismatch of a tensor that is not the classifier.
    CHECK_THROWS_AS(dst.load_state_dict(src.state_dict(), {.skip_classifier_mismatch = true}),
                    ValueError);
}

TEST_CASE("load errors name the source and escape keys from files", "[nn][module]") {
    Linear fc(2, 2);
    NamedTensors dict = fc.state_dict();
    dict.emplace_back("\x1b[31mevil\x07", zeros({1}));
    dict.emplace_back("weight", zeros({2, 2}));  // a duplicate
    std::string msg;
    try {
        fc.load_state_dict(dict, {.source = "weights w\x1b.safetensors"});
    } catch (const ValueError& e) {
        msg = e.what();
    }
    CHECK(msg == "load_state_dict: weights w\\x1B.safetensors does not fit this Linear; "
                 "unexpected keys (1): \\x1B[31mevil\\x07 [1]; duplicate keys (1): weight");
    // A long list names the first eight and counts the rest.
    NamedTensors many;
    for (int i = 0; i < 11; ++i) many.emplace_back("extra" + std::to_string(i), zeros({1}));
    CHECK_THROWS_WITH(fc.load_state_dict(many),
                      Contains("missing keys (2): weight, bias; unexpected keys (11): extra0 [1], ") &&
                          Contains(", extra7 [1], ... (3 more)"));
    // Non-strict: the same dict loads nothing and says so.
    LoadStateReport r = fc.load_state_dict(many, {.strict = false});
    CHECK(r.missing == std::vector<std::string>{"weight", "bias"});
    CHECK(r.unexpected.size() == 11);
}

TEST_CASE("a missing num_batches_tracked is tolerated", "[nn][module]") {
    Net net;
    NamedTensors dict;
    for (auto& [n, t] : net.state_dict())
        if (n.find("num_batches_tracked") == std::string::npos) dict.emplace_back(n, t.clone());
    LoadStateReport r = net.load_state_dict(dict);
    CHECK(r.missing.size() == 8);  // reported, not refused
    for (const auto& n : r.missing) CHECK_THAT(n, Contains("num_batches_tracked"));
}

TEST_CASE("train/eval recurse; BN counts its training forwards", "[nn][module]") {
    Net net;
    net.eval();
    for (auto& [n, m] : net.named_modules()) CHECK_FALSE(m->is_training());
    Tensor x = randn({2, 3, 5, 5});
    net.forward(x);
    CHECK(net.bn1->num_batches_tracked().item() == 0.0);
    CHECK(net.bn1->running_var().to_vector() == std::vector<double>(16, 1.0));
    net.train();
    for (auto& [n, m] : net.named_modules()) CHECK(m->is_training());
    net.forward(x);
    net.forward(x);
    CHECK(net.bn1->num_batches_tracked().item() == 2.0);
    CHECK(net.bn1->num_batches_tracked().dtype() == DType::Int64);
    CHECK(net.bn1->num_batches_tracked().dim() == 0);
    CHECK(net.bn1->running_var().to_vector() != std::vector<double>(16, 1.0));
}

TEST_CASE("to(float64) converts every floating tensor in place", "[nn][module]") {
    Net net;
    Tensor w = net.conv1->weight();
    std::vector<double> before = w.to_vector();
    net.to(DType::Float64);
    for (auto& [n, t] : net.state_dict()) {
        INFO(n);
        if (n.find("num_batches_tracked") != std::string::npos)
            CHECK(t.dtype() == DType::Int64);
        else
            CHECK(t.dtype() == DType::Float64);
    }
    CHECK(w.dtype() == DType::Float64);  // the handle the layer holds follows
    CHECK(w.to_vector() == before);
    CHECK(requires_grad(w));
    Tensor y = net.forward(randn({2, 3, 4, 4}, DType::Float64));
    CHECK(y.dtype() == DType::Float64);
    CHECK_THROWS_AS(net.to(DType::Int64), DTypeError);
}

TEST_CASE("repr prints the tree like PyTorch", "[nn][module]") {
    CHECK(Conv2d(Conv2dOptions(64, 128, 3).padding(1).groups(32).bias(false)).repr() ==
          "Conv2d(64, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=32, bias=False)");
    CHECK(Conv2d(Conv2dOptions(8, 8, 3).stride(2).padding(2).dilation(2)).repr() ==
          "Conv2d(8, 8, kernel_size=(3, 3), stride=(2, 2), padding=(2, 2), dilation=(2, 2))");
    CHECK(BatchNorm2d(64).repr() == "BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
    CHECK(Linear(2048, 1000).repr() == "Linear(in_features=2048, out_features=1000, bias=True)");
    CHECK(MaxPool2d(Pool2dOptions(3).stride(2).padding(1)).repr() ==
          "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)");
    CHECK(AvgPool2d(Pool2dOptions(2).ceil_mode(true).count_include_pad(false)).repr() ==
          "AvgPool2d(kernel_size=2, stride=2, padding=0)");
    CHECK(AdaptiveAvgPool2d(1).repr() == "AdaptiveAvgPool2d(output_size=1)");
    CHECK(ReLU().repr() == "ReLU()");
    CHECK(Softmax(1).repr() == "Softmax(dim=1)");
    CHECK(Dropout(0.25).repr() == "Dropout(p=0.25, inplace=False)");
    CHECK(DropPath(0.1).repr() == "DropPath(drop_prob=0.100)");
    CHECK(Flatten().repr() == "Flatten(start_dim=1, end_dim=-1)");
    CHECK(Identity().repr() == "Identity()");

    auto ds = make_downsample(32, 64, 2, true);
    CHECK(ds->repr() ==
          "Sequential(\n"
          "  (0): AvgPool2d(kernel_size=2, stride=2, padding=0)\n"
          "  (1): Conv2d(32, 64, kernel_size=(1, 1), stride=(1, 1), bias=False)\n"
          "  (2): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
          ")");
    SEModule se(64);
    CHECK(se.repr() ==
          "SEModule(\n"
          "  (fc1): Conv2d(64, 8, kernel_size=(1, 1), stride=(1, 1))\n"
          "  (bn): Identity()\n"
          "  (act): ReLU()\n"
          "  (fc2): Conv2d(8, 64, kernel_size=(1, 1), stride=(1, 1))\n"
          "  (gate): Sigmoid()\n"
          ")");
}

TEST_CASE("operator<< prints the module tree", "[nn][module]") {
    SEModule se(64);
    std::ostringstream os;
    os << se;
    CHECK(os.str() == se.repr());
    CHECK_THAT(os.str(), Contains("SEModule(\n  (fc1): Conv2d(64, 8") && Contains("(gate): Sigmoid()\n)"));
    // A module reached through a base-class reference prints its own tree, nested.
    Sequential seq{std::make_shared<ReLU>(), std::make_shared<Linear>(4, 2)};
    const Module& base = seq;
    std::ostringstream nested;
    nested << base << "|";
    CHECK(nested.str() == "Sequential(\n  (0): ReLU()\n  (1): Linear(in_features=4, out_features=2, bias=True)\n)|");
}

TEST_CASE("containers: Sequential chains, ModuleList has no forward", "[nn][module]") {
    Sequential seq{std::make_shared<Linear>(4, 3), std::make_shared<ReLU>(), std::make_shared<Linear>(3, 2)};
    CHECK(seq.size() == 3);
    CHECK(names_of(seq.state_dict()) == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
    CHECK(seq.forward(randn({5, 4})).shape() == Shape{5, 2});
    CHECK(seq[1]->type_name() == "ReLU");
    CHECK_THROWS_AS(seq[3], IndexError);
    ModuleList list{std::make_shared<ReLU>()};
    CHECK_THROWS_WITH(list.forward(randn({1})), Contains("ModuleList: has no forward"));
}
