#include <catch2/catch.hpp>

#include "cnn_test_helpers.h"
#include "ops/pooling.h"
#include "tensor/error.h"

using namespace cardinal;
using namespace cardinal::test;

TEST_CASE("max_pool2d gradcheck over kernel, stride, padding, dilation, ceil_mode, batch",
          "[gradcheck]") {
    int cases = 0;
    for (int64_t N : {1, 3})
        for (int64_t k : {2, 3})
            for (int64_t s : {1, 2})
                for (int64_t p : {0, 1})
                    for (int64_t d : {1, 2})
                        for (bool ceil : {false, true}) {
                            INFO("N=" << N << " k=" << k << " s=" << s << " p=" << p << " d=" << d
                                      << " ceil=" << ceil);
                            Tensor x = distinct64({N, 2, 5, 7}, 100 + cases);
                            expect_gradcheck(
                                [&](const std::vector<Tensor>& in) {
                                    return max_pool2d(in[0], {k, k}, {s, s}, {p, p}, {d, d}, ceil);
                                },
                                {x});
                            ++cases;
                        }
    CHECK(cases == 64);
}

TEST_CASE("avg_pool2d gradcheck over kernel, stride, padding, ceil_mode, count_include_pad",
          "[gradcheck]") {
    for (int64_t N : {1, 3})
        for (int64_t k : {2, 3})
            for (int64_t s : {1, 2})
                for (int64_t p : {0, 1})
                    for (bool ceil : {false, true})
                        for (bool cip : {false, true}) {
                            INFO("N=" << N << " k=" << k << " s=" << s << " p=" << p
                                      << " ceil=" << ceil << " count_include_pad=" << cip);
                            Tensor x = randn64({N, 2, 5, 7}, 200 + N * 7 + k);
                            expect_gradcheck(
                                [&](const std::vector<Tensor>& in) {
                                    return avg_pool2d(in[0], {k, k}, {s, s}, {p, p}, ceil, cip);
                                },
                                {x});
                        }
}

TEST_CASE("adaptive and global pools gradcheck, output sizes that do not divide the input",
          "[gradcheck]") {
    const std::vector<Size2> sizes = {{1, 1}, {2, 3}, {3, 2}, {4, 4}, {5, 7}, {7, 9}};
    for (int64_t N : {1, 3})
        for (Size2 o : sizes) {
            INFO("N=" << N << " output " << o[0] << "x" << o[1]);
            Tensor x = distinct64({N, 2, 5, 7}, 300 + o[0] * 10 + o[1]);
            expect_gradcheck(
                [&](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], o); }, {x});
            expect_gradcheck(
                [&](const std::vector<Tensor>& in) { return adaptive_max_pool2d(in[0], o); }, {x});
        }
    for (int64_t N : {1, 3}) {
        Tensor x = randn64({N, 3, 5, 7}, 400 + N);
        expect_gradcheck([&](const std::vector<Tensor>& in) { return global_avg_pool2d(in[0]); },
                         {x});
    }
}

TEST_CASE("pooling float32 matches float64", "[pooling]") {
    Tensor x = distinct64({2, 3, 9, 11}, 500);
    Tensor xr = randn64({2, 3, 9, 11}, 501, 2.0, 1.0);
    check_f32_matches_f64(
        [](const std::vector<Tensor>& in) {
            return max_pool2d(in[0], {3, 3}, {2, 2}, {1, 1}, {1, 1}, false);
        },
        {x});
    check_f32_matches_f64(
        [](const std::vector<Tensor>& in) {
            return max_pool2d(in[0], {2, 3}, {2, 1}, {1, 0}, {2, 1}, true);
        },
        {x});
    for (bool cip : {false, true})
        for (bool ceil : {false, true})
            check_f32_matches_f64(
                [&](const std::vector<Tensor>& in) {
                    return avg_pool2d(in[0], {3, 3}, {2, 2}, {1, 1}, ceil, cip);
                },
                {xr});
    check_f32_matches_f64(
        [](const std::vector<Tensor>& in) {
            return adaptive_avg_pool2d(in[0], {4, 3});
        },
        {xr});
    check_f32_matches_f64(
        [](const std::vector<Tensor>& in) {
            return adaptive_max_pool2d(in[0], {4, 3});
        },
        {x});
    check_f32_matches_f64([](const std::vector<Tensor>& in) { return global_avg_pool2d(in[0]); },
                          {xr});
}

TEST_CASE("avg_down pool AvgPool2d(2, 2, ceil_mode, count_include_pad=False) on 3x3", "[pooling]") {
    Tensor x = from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}, DType::Float64);
    Tensor y = avg_pool2d(x, {2, 2}, {2, 2}, {0, 0}, true, false);
    REQUIRE(y.shape() == Shape{1, 1, 2, 2});
    // Windows: {1,2,4,5} -> 3, {3,6} -> 4.5, {7,8} -> 7.5, {9} -> 9 (border windows average
    // only their in-bounds values).
    CHECK(y.to_vector() == std::vector<double>{3, 4.5, 7.5, 9});
    // With no padding the ragged windows are clipped to the input also when counting pads.
    CHECK(avg_pool2d(x, {2, 2}, {2, 2}, {0, 0}, true, true).to_vector() ==
          std::vector<double>{3, 4.5, 7.5, 9});
    // Floor mode drops the ragged row and column.
    CHECK(avg_pool2d(x, {2, 2}, {2, 2}, {0, 0}, false, false).to_vector() ==
          std::vector<double>{3});
    // The gradient of each input is 1/(size of its window).
    Tensor xg = set_requires_grad(x.clone());
    backward(avg_pool2d(xg, {2, 2}, {2, 2}, {0, 0}, true, false),
             ones({1, 1, 2, 2}, DType::Float64));
    CHECK(grad(xg).to_vector() ==
          std::vector<double>{0.25, 0.25, 0.5, 0.25, 0.25, 0.5, 0.5, 0.5, 1});
}

TEST_CASE("avd pool AvgPool2d(3, 2, 1) divides by 9 including the zero padding", "[pooling]") {
    Tensor x = ones({1, 1, 5, 5}, DType::Float64);
    Tensor y = avg_pool2d(x, {3, 3}, {2, 2}, {1, 1}, false, true);
    REQUIRE(y.shape() == Shape{1, 1, 3, 3});
    const double c = 4.0 / 9, e = 6.0 / 9;
    std::vector<double> expect = {c, e, c, e, 1, e, c, e, c};
    std::vector<double> got = y.to_vector();
    for (size_t i = 0; i < expect.size(); ++i) CHECK(got[i] == Approx(expect[i]).epsilon(1e-15));
    // Without counting the padding every window averages ones.
    for (double v : avg_pool2d(x, {3, 3}, {2, 2}, {1, 1}, false, false).to_vector())
        CHECK(v == 1.0);
    // A non-constant input: the centre window of 1..25 holds 7,8,9,12,13,14,17,18,19.
    Tensor r = arange(1, 26, 1, DType::Float64).reshape({1, 1, 5, 5});
    Tensor yr = avg_pool2d(r, {3, 3}, {2, 2}, {1, 1}, false, true);
    CHECK(yr.at({0, 0, 1, 1}) == Approx(117.0 / 9));
    CHECK(yr.at({0, 0, 0, 0}) == Approx((1 + 2 + 6 + 7) / 9.0));
}

TEST_CASE("max_pool2d pads with -inf (all-negative input)", "[pooling]") {
    Tensor x = kernels::add_scalar(kernels::neg(arange(0, 9, 1, DType::Float64)), -1)
                   .reshape({1, 1, 3, 3});
    // x = -1 .. -9; the stem pool k3 s2 p1 gives four windows, each touching the padding.
    // Their maxima are the largest in-bounds values; zero padding would give 0 everywhere.
    Tensor y = max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
    REQUIRE(y.shape() == Shape{1, 1, 2, 2});
    CHECK(y.to_vector() == std::vector<double>{-1, -2, -4, -5});
    Tensor x32 = x.to(DType::Float32);
    CHECK(max_pool2d(x32, {3, 3}, {2, 2}, {1, 1}).to_vector() ==
          std::vector<double>{-1, -2, -4, -5});
}

TEST_CASE("pool output sizes follow PyTorch's ceil_mode rule", "[pooling]") {
    Tensor x = zeros({1, 1, 5, 5}, DType::Float64);
    CHECK(max_pool2d(x, {2, 2}, {2, 2}, {0, 0}, {1, 1}, true).shape() == Shape{1, 1, 3, 3});
    CHECK(max_pool2d(x, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false).shape() == Shape{1, 1, 2, 2});
    CHECK(max_pool2d(x, {3, 3}, {2, 2}, {1, 1}, {2, 2}, false).shape() == Shape{1, 1, 2, 2});
    // The last window would start in the right padding: it is dropped (3 -> 1 output, not 2).
    Tensor x3 = zeros({1, 1, 3, 3}, DType::Float64);
    CHECK(max_pool2d(x3, {3, 3}, {4, 4}, {1, 1}, {1, 1}, true).shape() == Shape{1, 1, 1, 1});
    CHECK(avg_pool2d(x3, {3, 3}, {4, 4}, {1, 1}, true, true).shape() == Shape{1, 1, 1, 1});
    // stride {0, 0} means stride = kernel.
    CHECK(avg_pool2d(zeros({2, 3, 8, 6}), {2, 3}).shape() == Shape{2, 3, 4, 2});
    CHECK(global_avg_pool2d(zeros({2, 3, 8, 6})).shape() == Shape{2, 3, 1, 1});
    CHECK(adaptive_max_pool2d(zeros({2, 3, 8, 6}), {3, 5}).shape() == Shape{2, 3, 3, 5});
}

TEST_CASE("adaptive pools use PyTorch's windows", "[pooling]") {
    // H = 5 into 3 outputs: windows [0,2), [1,4), [3,5).
    Tensor x = arange(1, 6, 1, DType::Float64).reshape({1, 1, 5, 1});
    Tensor avg = adaptive_avg_pool2d(x, {3, 1}), mx = adaptive_max_pool2d(x, {3, 1});
    CHECK(avg.to_vector() == std::vector<double>{1.5, 3, 4.5});
    CHECK(mx.to_vector() == std::vector<double>{2, 4, 5});
    Tensor g = randn64({2, 3, 7, 5}, 7);
    CHECK(max_abs_diff(adaptive_avg_pool2d(g, {1, 1}), global_avg_pool2d(g)) < 1e-15);
}

TEST_CASE("pooling rejects bad arguments with clear errors", "[pooling]") {
    Tensor x = randn64({1, 2, 6, 6}, 8);
    CHECK_THROWS_AS(max_pool2d(randn64({2, 6, 6}, 1), {2, 2}), ShapeError);
    CHECK_THROWS_WITH(max_pool2d(randn64({2, 6, 6}, 1), {2, 2}),
                      Catch::Contains("max_pool2d") && Catch::Contains("4-d"));
    CHECK_THROWS_WITH(max_pool2d(x, {3, 3}, {1, 1}, {2, 2}), Catch::Contains("padding"));
    CHECK_THROWS_AS(avg_pool2d(x, {2, 2}, {1, 1}, {2, 2}), ValueError);
    CHECK_THROWS_WITH(max_pool2d(x, {0, 2}), Catch::Contains("kernel size must be positive"));
    CHECK_THROWS_WITH(avg_pool2d(x, {2, 2}, {-1, 1}), Catch::Contains("stride must be positive"));
    CHECK_THROWS_WITH(max_pool2d(x, {2, 2}, {1, 1}, {0, 0}, {0, 1}),
                      Catch::Contains("dilation must be positive"));
    CHECK_THROWS_WITH(max_pool2d(x, {7, 7}), Catch::Contains("output too small"));
    CHECK_THROWS_AS(avg_pool2d(x, {7, 3}), ShapeError);
    CHECK_THROWS_WITH(max_pool2d(x, {3, 3}, {1, 1}, {0, 0}, {3, 3}),
                      Catch::Contains("output too small"));
    CHECK_THROWS_WITH(adaptive_avg_pool2d(x, {0, 2}),
                      Catch::Contains("output size must be positive"));
    CHECK_THROWS_AS(adaptive_max_pool2d(x, {2, -1}), ValueError);
    CHECK_THROWS_AS(global_avg_pool2d(randn64({6, 6}, 1)), ShapeError);
    CHECK_THROWS_AS(avg_pool2d(arange(36).reshape({1, 1, 6, 6}), {2, 2}), DTypeError);
}
