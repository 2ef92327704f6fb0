// Initialisers: the timm defaults (docs/timm-configs.md section 8), reproducible from a Generator.
#include <catch2/catch.hpp>

#include <cmath>

#include "nn/init.h"
#include "nn/layers/layers.h"

using namespace cardinal;

namespace {

struct Stats { double mean, std, min, max; };

Stats stats(const Tensor& t) {
    auto v = t.to_vector();
    double s = 0, s2 = 0, lo = v[0], hi = v[0];
    for (double e : v) {
        s += e;
        s2 += e * e;
        lo = std::min(lo, e);
        hi = std::max(hi, e);
    }
    double n = static_cast<double>(v.size());
    return {s / n, std::sqrt(s2 / n - (s / n) * (s / n)), lo, hi};
}

}  // namespace

TEST_CASE("conv weights are kaiming_normal(fan_out, relu); groups do not enter", "[nn][init]") {
    Generator gen(1);
    double expected = std::sqrt(2.0 / (128 * 9));
    for (int64_t groups : {1, 32}) {
        Conv2d conv(Conv2dOptions(64, 128, 3).groups(groups).bias(false), &gen);
        Stats s = stats(conv.weight());
        INFO("groups " << groups << " std " << s.std);
        CHECK(std::abs(s.mean) < 0.05 * expected * 10);
        CHECK(s.std == Approx(expected).epsilon(0.03));
    }
    CHECK(init::fan_in(zeros({128, 2, 3, 3})) == 18);
    CHECK(init::fan_out(zeros({128, 2, 3, 3})) == 128 * 9);
}

TEST_CASE("conv bias and Linear follow PyTorch's uniform defaults", "[nn][init]") {
    Generator gen(2);
    Conv2d conv(Conv2dOptions(64, 512, 1).groups(4), &gen);  // fan_in = 16
    Stats b = stats(conv.bias());
    CHECK(b.min >= -0.25);
    CHECK(b.max <= 0.25);
    CHECK(b.max - b.min > 0.45);  // spread over the whole interval
    Linear fc(100, 2000, true, &gen);
    Stats w = stats(fc.weight());
    CHECK(w.min >= -0.1);
    CHECK(w.max <= 0.1);
    CHECK(w.std == Approx(0.1 / std::sqrt(3.0)).epsilon(0.02));
    Stats fb = stats(fc.bias());
    CHECK(fb.min >= -0.1);
    CHECK(fb.max <= 0.1);
    CHECK(fb.max - fb.min > 0.19);
}

TEST_CASE("BatchNorm2d starts at weight 1, bias 0, mean 0, var 1, count 0", "[nn][init]") {
    BatchNorm2d bn(5);
    CHECK(bn.weight().to_vector() == std::vector<double>(5, 1.0));
    CHECK(bn.bias().to_vector() == std::vector<double>(5, 0.0));
    CHECK(bn.running_mean().to_vector() == std::vector<double>(5, 0.0));
    CHECK(bn.running_var().to_vector() == std::vector<double>(5, 1.0));
    CHECK(bn.num_batches_tracked().item() == 0.0);
}

TEST_CASE("initialisation is reproducible from the generator's seed", "[nn][init]") {
    Generator a(42), b(42), c(43);
    Conv2d ca(Conv2dOptions(8, 8, 3), &a), cb(Conv2dOptions(8, 8, 3), &b), cc(Conv2dOptions(8, 8, 3), &c);
    CHECK(ca.weight().to_vector() == cb.weight().to_vector());
    CHECK(ca.bias().to_vector() == cb.bias().to_vector());
    CHECK(ca.weight().to_vector() != cc.weight().to_vector());
    CHECK_THROWS_AS(init::fan_in(zeros({3})), ShapeError);
    CHECK_THROWS_AS(init::normal_(zeros({3}, DType::Int64), 0, 1), DTypeError);
}
