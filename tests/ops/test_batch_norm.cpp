#include <catch2/catch.hpp>

#include "cnn_test_helpers.h"
#include "ops/batch_norm.h"
#include "tensor/error.h"

using namespace cardinal;
using namespace cardinal::test;

namespace {

// Running stats for C channels, fresh per call (the op updates them in place).
struct Stats {
    Tensor mean, var;
};
Stats running_stats(int64_t C, DType dt) {
    Tensor m = randn64({C}, 11, 0.3, 0.1),
           v = kernels::add_scalar(kernels::abs(randn64({C}, 12)), 0.5);
    return {m.to(dt).clone(), v.to(dt).clone()};
}

}  // namespace

TEST_CASE("batch_norm2d gradcheck: train/eval, with and without affine, batch 1 and 3",
          "[gradcheck]") {
    for (int64_t N : {1, 3})
        for (bool training : {true, false})
            for (bool affine : {true, false}) {
                INFO("N=" << N << " training=" << training << " affine=" << affine);
                const int64_t C = 3;
                Tensor x = randn64({N, C, 3, 2}, 1 + N, 2.0, 1.0);
                Tensor w = affine ? randn64({C}, 5, 1.0, 0.5) : Tensor();
                Tensor b = affine ? randn64({C}, 6) : Tensor();
                expect_gradcheck(
                    [&](const std::vector<Tensor>& in) {
                        Stats s = running_stats(C, DType::Float64);
                        return batch_norm2d(in[0], in[1], in[2], s.mean, s.var, training);
                    },
                    {x, w, b});
            }
}

TEST_CASE("batch_norm2d gradcheck on 1x1 maps (attention BN, n = batch)", "[gradcheck]") {
    Tensor x = randn64({4, 5, 1, 1}, 21);
    Tensor w = randn64({5}, 22), b = randn64({5}, 23);
    expect_gradcheck(
        [&](const std::vector<Tensor>& in) {
            Stats s = running_stats(5, DType::Float64);
            return batch_norm2d(in[0], in[1], in[2], s.mean, s.var, true);
        },
        {x, w, b});
}

TEST_CASE("batch_norm2d float32 matches float64", "[batch_norm]") {
    for (bool training : {true, false}) {
        INFO("training=" << training);
        const int64_t C = 5;
        Tensor x = randn64({4, C, 7, 6}, 31, 3.0, 2.0);
        Tensor w = randn64({C}, 32, 1.0, 1.0), b = randn64({C}, 33);
        check_f32_matches_f64(
            [&](const std::vector<Tensor>& in) {
                Stats s = running_stats(C, in[0].dtype());
                return batch_norm2d(in[0], in[1], in[2], s.mean, s.var, training);
            },
            {x, w, b});
    }
    // Float32 running-stat updates agree too.
    Tensor x = randn64({4, 3, 5, 5}, 34, 2.0, 3.0);
    Stats s64 = running_stats(3, DType::Float64), s32 = running_stats(3, DType::Float32);
    batch_norm2d(x, {}, {}, s64.mean, s64.var, true);
    batch_norm2d(x.to(DType::Float32), {}, {}, s32.mean, s32.var, true);
    CHECK(rel_diff(s32.mean, s64.mean) < 1e-5);
    CHECK(rel_diff(s32.var, s64.var) < 1e-5);
}

TEST_CASE("batch_norm2d training output and running stats against a hand computation",
          "[batch_norm]") {
    // Channel 0 holds 1, 2, 3, 4: mean 2.5, biased var 1.25, unbiased var 5/3.
    // Channel 1 holds 0, 0, 2, 6: mean 2, biased var 6, unbiased var 8.
    Tensor x = from_vector({1, 2, 0, 0, 3, 4, 2, 6}, {2, 2, 2, 1}, DType::Float64);
    Tensor w = from_vector({2, -1}, {2}, DType::Float64),
           b = from_vector({0.5, 1}, {2}, DType::Float64);
    Tensor rm = from_vector({0.5, -1}, {2}, DType::Float64),
           rv = from_vector({2, 3}, {2}, DType::Float64);
    Tensor y = batch_norm2d(x, w, b, rm, rv, true, 0.1, 1e-5);
    CHECK(rm.to_vector()[0] == Approx(0.9 * 0.5 + 0.1 * 2.5).epsilon(1e-14));
    CHECK(rm.to_vector()[1] == Approx(0.9 * -1 + 0.1 * 2).epsilon(1e-14));
    CHECK(rv.to_vector()[0] == Approx(0.9 * 2 + 0.1 * 5.0 / 3.0).epsilon(1e-14));
    CHECK(rv.to_vector()[1] == Approx(0.9 * 3 + 0.1 * 8).epsilon(1e-14));
    const double r0 = 1 / std::sqrt(1.25 + 1e-5), r1 = 1 / std::sqrt(6 + 1e-5);
    // y[n, c, h, 0] in memory order: (n0,c0), (n0,c1), (n1,c0), (n1,c1), two values each.
    std::vector<double> expect = {2 * (1 - 2.5) * r0 + 0.5, 2 * (2 - 2.5) * r0 + 0.5,
                                  -(0 - 2.0) * r1 + 1,      -(0 - 2.0) * r1 + 1,
                                  2 * (3 - 2.5) * r0 + 0.5, 2 * (4 - 2.5) * r0 + 0.5,
                                  -(2 - 2.0) * r1 + 1,      -(6 - 2.0) * r1 + 1};
    std::vector<double> got = y.to_vector();
    for (size_t i = 0; i < expect.size(); ++i) CHECK(got[i] == Approx(expect[i]).epsilon(1e-12));
}

TEST_CASE("batch_norm2d eval uses running stats and leaves them alone", "[batch_norm]") {
    Tensor x = randn64({2, 3, 4, 5}, 41);
    Tensor w = randn64({3}, 42), b = randn64({3}, 43);
    Stats s = running_stats(3, DType::Float64);
    std::vector<double> rm0 = s.mean.to_vector(), rv0 = s.var.to_vector();
    Tensor y = batch_norm2d(x, w, b, s.mean, s.var, false);
    CHECK(s.mean.to_vector() == rm0);
    CHECK(s.var.to_vector() == rv0);
    std::vector<double> xv = x.to_vector(), yv = y.to_vector(), wv = w.to_vector(),
                        bv = b.to_vector();
    for (int64_t i = 0; i < x.numel(); ++i) {
        const int64_t c = (i / 20) % 3;
        const double e = (xv[i] - rm0[c]) / std::sqrt(rv0[c] + 1e-5) * wv[c] + bv[c];
        CHECK(yv[i] == Approx(e).epsilon(1e-12));
    }
}

TEST_CASE("batch_norm2d accepts non-contiguous input and training without running stats",
          "[batch_norm]") {
    Tensor base = randn64({3, 4, 5, 2}, 51);
    Tensor x = base.permute({0, 3, 2, 1});  // [3, 2, 5, 4], not contiguous
    REQUIRE_FALSE(x.is_contiguous());
    Tensor y1 = batch_norm2d(x, {}, {}, {}, {}, true);
    Tensor y2 = batch_norm2d(x.contiguous(), {}, {}, {}, {}, true);
    CHECK(max_abs_diff(y1, y2) == 0.0);
    // Each channel of the output has mean 0 and biased variance 1 (up to eps).
    Tensor m = kernels::mean(y1, {0, 2, 3}), v = kernels::var(y1, {0, 2, 3}, false, 0);
    for (double mv : m.to_vector()) CHECK(std::fabs(mv) < 1e-12);
    for (double vv : v.to_vector()) CHECK(vv == Approx(1.0).epsilon(1e-4));
}

TEST_CASE("batch_norm2d rejects bad input with clear errors", "[batch_norm]") {
    Tensor x = randn64({2, 3, 4, 4}, 61);
    Stats s = running_stats(3, DType::Float64);
    auto bn = [&](const Tensor& in, const Tensor& w, const Tensor& rm, bool training) {
        return batch_norm2d(in, w, {}, rm, rm.defined() ? s.var : Tensor(), training);
    };
    CHECK_THROWS_WITH(bn(randn64({2, 3, 4}, 1), {}, s.mean, true),
                      Catch::Contains("batch_norm2d") && Catch::Contains("4-d"));
    CHECK_THROWS_AS(bn(x, randn64({4}, 1), s.mean, true), ShapeError);
    CHECK_THROWS_WITH(bn(x, randn64({4}, 1), s.mean, true),
                      Catch::Contains("weight must have shape [3]"));
    CHECK_THROWS_AS(bn(x, randn64({3}, 1).to(DType::Float32), s.mean, true), DTypeError);
    CHECK_THROWS_WITH(bn(x, {}, randn64({2}, 1), true), Catch::Contains("running_mean"));
    CHECK_THROWS_WITH(bn(x, {}, Tensor(), false), Catch::Contains("eval mode needs running_mean"));
    CHECK_THROWS_AS(bn(randn64({1, 3, 1, 1}, 2), {}, s.mean, true), ValueError);
    CHECK_THROWS_WITH(bn(randn64({1, 3, 1, 1}, 2), {}, s.mean, true),
                      Catch::Contains("more than 1 value per channel when training"));
    CHECK_NOTHROW(bn(randn64({1, 3, 1, 1}, 2), {}, s.mean, false));  // eval is fine
    CHECK_THROWS_AS(batch_norm2d(arange(48).reshape({1, 3, 4, 4}), {}, {}, {}, {}, true),
                    DTypeError);
    CHECK_THROWS_AS(batch_norm2d(x, {}, {}, s.mean, s.var, true, 0.1, -1.0), ValueError);
}
