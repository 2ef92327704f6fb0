#include <catch2/catch.hpp>

#include "cnn_test_helpers.h"
#include "ops/dropout.h"
#include "tensor/error.h"

using namespace cardinal;
using namespace cardinal::test;

namespace {

double fraction_zero(const Tensor& t) {
    int64_t z = 0;
    for (double v : t.to_vector()) z += v == 0.0;
    return static_cast<double>(z) / static_cast<double>(t.numel());
}

}  // namespace

TEST_CASE("dropout family gradcheck (the generator is reseeded per evaluation)", "[gradcheck]") {
    Generator gen(0);
    for (int64_t N : {1, 3}) {
        INFO("N=" << N);
        Tensor x = randn64({N, 3, 7, 6}, 10 + N);
        expect_gradcheck(
            [&](const std::vector<Tensor>& in) {
                gen.manual_seed(5);
                return dropout(in[0], 0.3, true, &gen);
            },
            {x});
        for (int64_t block : {2, 3, 5}) {
            INFO("block=" << block);
            expect_gradcheck(
                [&](const std::vector<Tensor>& in) {
                    gen.manual_seed(6);
                    return drop_block2d(in[0], 0.2, block, true, &gen);
                },
                {x});
        }
        expect_gradcheck(
            [&](const std::vector<Tensor>& in) {
                gen.manual_seed(7);
                return drop_path(in[0], 0.5, true, &gen);
            },
            {x});
    }
}

TEST_CASE("dropout family float32 matches float64 (same seed, same mask)", "[dropout]") {
    Tensor x = randn64({4, 3, 9, 8}, 20);
    Generator gen(0);
    check_f32_matches_f64(
        [&](const std::vector<Tensor>& in) {
            gen.manual_seed(1);
            return dropout(in[0], 0.4, true, &gen);
        },
        {x});
    check_f32_matches_f64(
        [&](const std::vector<Tensor>& in) {
            gen.manual_seed(2);
            return drop_block2d(in[0], 0.3, 3, true, &gen);
        },
        {x});
    check_f32_matches_f64(
        [&](const std::vector<Tensor>& in) {
            gen.manual_seed(3);
            return drop_path(in[0], 0.5, true, &gen);
        },
        {x});
}

TEST_CASE("dropout is deterministic for a seed, identity in eval and for p = 0", "[dropout]") {
    Tensor x = randn64({2, 4, 16, 16}, 30);
    Generator g1(42), g2(42), g3(43);
    Tensor a = dropout(x, 0.5, true, &g1), b = dropout(x, 0.5, true, &g2),
           c = dropout(x, 0.5, true, &g3);
    CHECK(max_abs_diff(a, b) == 0.0);
    CHECK(max_abs_diff(a, c) > 0.0);
    // The generator advanced: the next draw differs from the first.
    CHECK(max_abs_diff(dropout(x, 0.5, true, &g1), a) > 0.0);
    // The same seed through the default generator.
    manual_seed(9);
    Tensor d1 = drop_block2d(x, 0.3, 3, true);
    manual_seed(9);
    CHECK(max_abs_diff(drop_block2d(x, 0.3, 3, true), d1) == 0.0);
    for (auto* fn : {+[](const Tensor&t, double p, bool tr) { return dropout(t, p, tr); },
                     +[](const Tensor&t, double p, bool tr) { return drop_block2d(t, p, 3, tr); },
                     +[](const Tensor&t, double p, bool tr) { return drop_path(t, p, tr); }}) {
        CHECK(fn(x, 0.5, false).is_same(x));
        CHECK(fn(x, 0.0, true).is_same(x));
    }
}

TEST_CASE("dropout zeroes about p of the elements and scales the rest by 1/(1-p)", "[dropout]") {
    Tensor x = kernels::add_scalar(randn64({8, 16, 16, 16}, 40), 5.0);  // no zeros in x
    Generator gen(3);
    Tensor y = dropout(x, 0.3, true, &gen);
    CHECK(fraction_zero(y) == Approx(0.3).margin(0.01));
    std::vector<double> xv = x.to_vector(), yv = y.to_vector();
    for (size_t i = 0; i < xv.size(); ++i)
        if (yv[i] != 0.0) REQUIRE(yv[i] == Approx(xv[i] / 0.7).epsilon(1e-14));
    // Backward uses the same mask.
    Tensor xg = set_requires_grad(x.clone());
    gen.manual_seed(3);
    Tensor yg = dropout(xg, 0.3, true, &gen);
    backward(yg, ones(x.shape(), DType::Float64));
    std::vector<double> gv = grad(xg).to_vector();
    for (size_t i = 0; i < xv.size(); ++i) REQUIRE(gv[i] == Approx(yv[i] / xv[i]).epsilon(1e-12));
}

TEST_CASE("drop_block2d drops square blocks and keeps the expected mean", "[dropout]") {
    const int64_t H = 16, W = 16;
    Tensor ones4 = ones({8, 16, H, W}, DType::Float64);
    Generator gen(11);
    Tensor y = drop_block2d(ones4, 0.2, 3, true, &gen);
    // Rescale: every kept value is numel / kept, so the sum is exactly numel.
    const double zero_frac = fraction_zero(y);
    CHECK(zero_frac > 0.1);
    CHECK(zero_frac < 0.3);
    double total = 0;
    for (double v : y.to_vector()) {
        total += v;
        if (v != 0.0) REQUIRE(v == Approx(1.0 / (1.0 - zero_frac)).epsilon(1e-12));
    }
    CHECK(total == Approx(static_cast<double>(ones4.numel())).epsilon(1e-12));
    // Every dropped position lies in a 3x3 square (clipped at the border) that is all dropped.
    std::vector<double> v = y.to_vector();
    auto at = [&](int64_t plane, int64_t h, int64_t w) { return v[(plane * H + h) * W + w]; };
    for (int64_t pl = 0; pl < 8 * 16; ++pl)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t w = 0; w < W; ++w) {
                if (at(pl, h, w) != 0.0) continue;
                bool in_block = false;
                for (int64_t ch = h - 1; ch <= h + 1 && !in_block; ++ch)
                    for (int64_t cw = w - 1; cw <= w + 1 && !in_block; ++cw) {
                        if (ch < 0 || ch >= H || cw < 0 || cw >= W) continue;
                        bool all = true;
                        for (int64_t i = ch - 1; i <= ch + 1; ++i)
                            for (int64_t j = cw - 1; j <= cw + 1; ++j)
                                if (i >= 0 && i < H && j >= 0 && j < W && at(pl, i, j) != 0.0)
                                    all = false;
                        in_block = all;
                    }
                REQUIRE(in_block);
            }
    // On a random positive input the mean is kept approximately.
    Tensor xr = kernels::add_scalar(kernels::abs(randn64({8, 16, H, W}, 12)), 1.0);
    Tensor yr = drop_block2d(xr, 0.2, 5, true, &gen);
    const double mx = kernels::mean(xr).item(), my = kernels::mean(yr).item();
    CHECK(my == Approx(mx).epsilon(0.03));
    // Blocks larger than the map are clipped to it and still give a finite, exact rescale.
    Tensor small = drop_block2d(ones({4, 8, 3, 3}, DType::Float64), 0.5, 7, true, &gen);
    CHECK(kernels::sum(small).item() == Approx(4 * 8 * 9).epsilon(1e-12));
}

TEST_CASE("drop_path zeroes whole samples", "[dropout]") {
    Tensor x = kernels::add_scalar(randn64({64, 3, 4, 4}, 50), 10.0);
    Generator gen(8);
    Tensor y = drop_path(x, 0.25, true, &gen);
    std::vector<double> xv = x.to_vector(), yv = y.to_vector();
    int64_t dropped = 0;
    for (int64_t n = 0; n < 64; ++n) {
        const bool zero = yv[n * 48] == 0.0;
        dropped += zero;
        for (int64_t i = n * 48; i < (n + 1) * 48; ++i)
            REQUIRE(yv[i] == Approx(zero ? 0.0 : xv[i] / 0.75).epsilon(1e-14));
    }
    CHECK(dropped > 4);
    CHECK(dropped < 28);
}

TEST_CASE("dropout family rejects bad arguments with clear errors", "[dropout]") {
    Tensor x = randn64({2, 3, 4, 4}, 60);
    CHECK_THROWS_AS(dropout(x, 1.0, true), ValueError);
    CHECK_THROWS_WITH(dropout(x, -0.1, true), Catch::Contains("dropout: p must be in [0, 1)"));
    CHECK_THROWS_WITH(drop_path(x, 1.5, false), Catch::Contains("drop_path: p must be in [0, 1)"));
    CHECK_THROWS_WITH(drop_block2d(x, 1.0, 3, true), Catch::Contains("drop_block2d: p"));
    CHECK_THROWS_WITH(drop_block2d(x, 0.1, 0, true), Catch::Contains("block_size must be >= 1"));
    CHECK_THROWS_AS(drop_block2d(randn64({3, 4, 4}, 1), 0.1, 3, true), ShapeError);
    CHECK_THROWS_AS(dropout(arange(10), 0.1, true), DTypeError);
    CHECK_THROWS_AS(drop_path(scalar_tensor(1.0), 0.1, true), ShapeError);
}
