// float64 gradcheck of every layer.
#include <catch2/catch.hpp>

#include "autograd/grad_mode.h"
#include "module_gradcheck.h"
#include "nn/layers/layers.h"

using namespace cardinal;
using namespace cardinal::testing;

namespace {

Tensor input(const Shape& shape, uint64_t seed = 1) {
    Generator gen(seed);
    return randn(shape, DType::Float64, &gen);
}

void expect_ok(Module& m, const Tensor& x, bool fast = false, const std::function<void()>& before = {}) {
    auto r = gradcheck_module(m, x, fast, before);
    INFO(m.repr() << "\n" << r.message);
    CHECK(r.ok);
}

}  // namespace

TEST_CASE("Conv2d gradcheck: stride, padding, dilation, groups, bias", "[nn][gradcheck]") {
    Generator gen(5);
    Conv2d plain(Conv2dOptions(3, 4, 3).padding(1), &gen);
    expect_ok(plain, input({2, 3, 5, 5}));
    Conv2d strided(Conv2dOptions(4, 6, 3).stride(2).padding(2).dilation(2).groups(2).bias(false), &gen);
    expect_ok(strided, input({2, 4, 7, 6}));
    Conv2d pointwise(Conv2dOptions(4, 4, 1).groups(4), &gen);
    expect_ok(pointwise, input({2, 4, 3, 3}));
}

TEST_CASE("BatchNorm2d gradcheck in train and eval mode", "[nn][gradcheck]") {
    BatchNorm2d bn(3);
    {
        Generator gen(2);
        NoGradGuard guard;
        bn.weight().copy_(uniform({3}, 0.5, 1.5, DType::Float32, &gen));
        bn.bias().copy_(randn({3}, DType::Float32, &gen));
        bn.running_mean().copy_(randn({3}, DType::Float32, &gen));
        bn.running_var().copy_(uniform({3}, 0.5, 2.0, DType::Float32, &gen));
    }
    bn.train();
    expect_ok(bn, input({3, 3, 2, 3}));
    bn.eval();
    expect_ok(bn, input({3, 3, 2, 3}));
}

TEST_CASE("Linear, activations, Flatten, Identity, Sequential gradcheck", "[nn][gradcheck]") {
    Generator gen(9);
    Linear fc(5, 3, true, &gen);
    expect_ok(fc, input({4, 5}));
    ReLU relu;
    expect_ok(relu, input({3, 4}));
    Sigmoid sig;
    expect_ok(sig, input({3, 4}));
    Softmax sm(1);
    expect_ok(sm, input({2, 4, 3}));
    Flatten flat;
    expect_ok(flat, input({2, 3, 2, 2}));
    Identity id;
    expect_ok(id, input({2, 3}));
    Sequential seq{std::make_shared<Conv2d>(Conv2dOptions(2, 3, 3).padding(1), &gen), std::make_shared<ReLU>(),
                   std::make_shared<AdaptiveAvgPool2d>(1), std::make_shared<Flatten>(),
                   std::make_shared<Linear>(3, 2, true, &gen)};
    expect_ok(seq, input({2, 2, 4, 4}));
}

TEST_CASE("pooling layers gradcheck", "[nn][gradcheck]") {
    MaxPool2d max_pool(Pool2dOptions(3).stride(2).padding(1));
    expect_ok(max_pool, input({2, 2, 7, 6}));
    AvgPool2d avd(Pool2dOptions(3).stride(2).padding(1));  // ResNeSt avd: zeros counted
    expect_ok(avd, input({2, 2, 7, 6}));
    AvgPool2d avg_down(Pool2dOptions(2).stride(2).ceil_mode(true).count_include_pad(false));
    expect_ok(avg_down, input({2, 2, 5, 7}));
    AdaptiveAvgPool2d global(1);
    expect_ok(global, input({2, 3, 4, 5}));
    AdaptiveAvgPool2d adaptive(Size2{2, 3});
    expect_ok(adaptive, input({2, 2, 5, 7}));
}

TEST_CASE("dropout layers gradcheck with a re-seeded generator", "[nn][gradcheck]") {
    Generator gen(11);
    auto reseed = [&] { gen.manual_seed(11); };
    Dropout dropout(0.3, &gen);
    expect_ok(dropout, input({4, 5}), false, reseed);
    DropBlock2d drop_block(0.2, 3, &gen);
    expect_ok(drop_block, input({2, 2, 7, 7}), false, reseed);
    DropPath drop_path(0.4, &gen);
    expect_ok(drop_path, input({6, 2, 3, 3}), false, reseed);
}

TEST_CASE("dropout layers are the identity in eval and random in training", "[nn]") {
    Generator gen(3);
    Tensor x = ones({64, 32});
    Dropout d(0.5, &gen);
    d.eval();
    CHECK(d.forward(x).to_vector() == x.to_vector());
    d.train();
    auto v = d.forward(x).to_vector();
    int64_t zeros = std::count(v.begin(), v.end(), 0.0);
    CHECK(zeros > 64 * 32 / 4);
    CHECK(zeros < 64 * 32 * 3 / 4);
    for (double e : v) CHECK((e == 0.0 || e == 2.0));
    DropPath dp(0.5, &gen);
    dp.eval();
    CHECK(dp.forward(x).to_vector() == x.to_vector());
}
