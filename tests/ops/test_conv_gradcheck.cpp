// float64 conv2d / rectified_conv2d: the reference forward against direct loops, the rectify
// factor against docs/seed-forms.md section 6.1, and gradcheck over the configuration grid.
#include <catch2/catch.hpp>

#include "autograd/engine.h"
#include "autograd/gradcheck.h"
#include "autograd/variable.h"
#include "conv_cases.h"
#include "ops/conv.h"
#include "tensor/random.h"

using namespace cardinal;
using conv_test::ConvCase;

namespace {

Tensor run_case(const ConvCase& c, const std::vector<Tensor>& in) {
    Tensor b = c.bias ? in[2] : Tensor();
    if (c.rectify) return rectified_conv2d(in[0], in[1], b, c.params(), c.rectify == 2);
    return conv2d(in[0], in[1], b, c.params());
}

std::vector<Tensor> case_inputs(const ConvCase& c, uint64_t seed) {
    Generator gen(seed);
    std::vector<Tensor> in{randn(c.x_shape(), DType::Float64, &gen),
                           randn(c.w_shape(), DType::Float64, &gen)};
    if (c.bias) in.push_back(randn({c.O}, DType::Float64, &gen));
    return in;
}

// Seven loops straight from the definition, with no im2col: checks the reference itself.
Tensor direct_conv(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor& b) {
    const int64_t OH = conv_output_size(c.H, c.K, c.stride, c.pad, c.dil);
    const int64_t OW = conv_output_size(c.W, c.K, c.stride, c.pad, c.dil);
    const int64_t cg = c.C / c.groups, og = c.O / c.groups;
    const std::vector<double> xv = x.to_vector(), wv = w.to_vector();
    const std::vector<double> bv = c.bias ? b.to_vector() : std::vector<double>(c.O, 0.0);
    std::vector<double> y(static_cast<size_t>(c.N * c.O * OH * OW));
    for (int64_t n = 0; n < c.N; ++n)
        for (int64_t o = 0; o < c.O; ++o)
            for (int64_t oy = 0; oy < OH; ++oy)
                for (int64_t ox = 0; ox < OW; ++ox) {
                    double sum = bv[o];
                    for (int64_t ci = 0; ci < cg; ++ci)
                        for (int64_t kh = 0; kh < c.K; ++kh)
                            for (int64_t kw = 0; kw < c.K; ++kw) {
                                const int64_t iy = oy * c.stride - c.pad + kh * c.dil;
                                const int64_t ix = ox * c.stride - c.pad + kw * c.dil;
                                if (iy < 0 || iy >= c.H || ix < 0 || ix >= c.W) continue;
                                const int64_t xc = (o / og) * cg + ci;  // input channel
                                sum += wv[((o * cg + ci) * c.K + kh) * c.K + kw] *
                                       xv[((n * c.C + xc) * c.H + iy) * c.W + ix];
                            }
                    y[((n * c.O + o) * OH + oy) * OW + ox] = sum;
                }
    return from_vector(y, {c.N, c.O, OH, OW}, DType::Float64);
}

void gradcheck_grid(int64_t kernel) {
    for (const ConvCase& c : conv_test::conv_grid(kernel)) {
        INFO(c.str());
        std::vector<Tensor> in = case_inputs(c, 11 + kernel);
        for (const Tensor& t : in) set_requires_grad(t);
        auto r = gradcheck([&](const std::vector<Tensor>& x) { return run_case(c, x); }, in);
        INFO(r.message);
        CHECK(r.ok);
    }
}

}  // namespace

TEST_CASE("conv2d float64 reference forward equals the direct definition", "[conv]") {
    for (int64_t k : {1, 3, 5})
        for (ConvCase c : conv_test::conv_grid(k)) {
            c.rectify = 0;
            INFO(c.str());
            std::vector<Tensor> in = case_inputs(c, 3);
            Tensor y = conv2d(in[0], in[1], c.bias ? in[2] : Tensor(), c.params());
            Tensor expect = direct_conv(c, in[0], in[1], c.bias ? in[2] : Tensor());
            REQUIRE(y.shape() == expect.shape());
            CHECK(max_abs_diff(y, expect) < 1e-12);
        }
}

TEST_CASE("conv_output_size", "[conv]") {
    CHECK(conv_output_size(56, 3, 1, 1, 1) == 56);
    CHECK(conv_output_size(56, 3, 2, 1, 1) == 28);
    CHECK(conv_output_size(7, 3, 2, 0, 1) == 3);
    CHECK(conv_output_size(9, 3, 1, 2, 2) == 9);
    CHECK(conv_output_size(6, 3, 2, 0, 1, true) == 3);   // ceil: (6-3)/2 = 1.5 -> 2, +1
    CHECK(conv_output_size(5, 2, 2, 1, 1, true) == 3);   // last window starts in the input
    CHECK(conv_output_size(4, 2, 2, 1, 1, true) == 3);   // 4+1 pad: window at 4 starts in pad
    CHECK_THROWS_AS(conv_output_size(2, 5, 1, 1, 1), ValueError);
    CHECK_THROWS_AS(conv_output_size(8, 3, 0, 1, 1), ValueError);
}

TEST_CASE("rectified_conv2d scales by taps inside the input (seed forms 6.1 example)", "[conv]") {
    // A 1-channel all-ones input and kernel: the plain conv counts the taps inside, so the sum
    // mode gives 9 everywhere and the average mode 1; with a bias b the output is (count+b)*f.
    Tensor x = ones({1, 1, 9, 7}, DType::Float64), w = ones({1, 1, 3, 3}, DType::Float64);
    Conv2dParams p;
    p.padding = {1, 1};
    Tensor plain = conv2d(x, w, Tensor(), p);
    CHECK(plain.at({0, 0, 0, 0}) == 4);
    CHECK(plain.at({0, 0, 0, 3}) == 6);
    CHECK(plain.at({0, 0, 4, 3}) == 9);
    Tensor sum_mode = rectified_conv2d(x, w, Tensor(), p, false);
    Tensor avg_mode = rectified_conv2d(x, w, Tensor(), p, true);
    for (double v : sum_mode.to_vector()) CHECK(v == Approx(9.0).epsilon(1e-15));
    for (double v : avg_mode.to_vector()) CHECK(v == Approx(1.0).epsilon(1e-15));
    // The bias is scaled with the conv output: corner (4 + 0.5) * 9/4.
    Tensor b = full({1}, 0.5, DType::Float64);
    CHECK(rectified_conv2d(x, w, b, p, false).at({0, 0, 0, 0}) == Approx(4.5 * 9.0 / 4.0));
    CHECK(rectified_conv2d(x, w, b, p, true).at({0, 0, 0, 0}) == Approx(4.5 / 4.0));
    // Stride 2 on 9 rows: the last window covers rows 7, 8 and padding (count 2 of 3 rows).
    p.stride = {2, 2};
    Tensor s2 = rectified_conv2d(x, w, Tensor(), p, true);
    REQUIRE(s2.shape() == Shape{1, 1, 5, 4});
    for (double v : s2.to_vector()) CHECK(v == Approx(1.0).epsilon(1e-15));
    CHECK(rectified_conv2d(x, w, Tensor(), p, false).at({0, 0, 4, 1}) == Approx(9.0));
    CHECK(conv2d(x, w, Tensor(), p).at({0, 0, 4, 1}) == 6);
}

TEST_CASE("conv2d gradcheck, 1x1 kernels", "[gradcheck][conv]") { gradcheck_grid(1); }
TEST_CASE("conv2d gradcheck, 3x3 kernels", "[gradcheck][conv]") { gradcheck_grid(3); }
TEST_CASE("conv2d gradcheck, 5x5 kernels", "[gradcheck][conv]") { gradcheck_grid(5); }

TEST_CASE("conv2d gradcheck, every bias x rectify x batch combination", "[gradcheck][conv]") {
    for (int64_t N : {1, 3})
        for (bool bias : {false, true})
            for (int rectify : {0, 1, 2}) {
                ConvCase c{N, 4, 4, 6, 5, 3, 2, 2, 1, 1, bias, rectify};
                INFO(c.str());
                std::vector<Tensor> in = case_inputs(c, 5);
                for (const Tensor& t : in) set_requires_grad(t);
                auto r = gradcheck([&](const std::vector<Tensor>& x) { return run_case(c, x); }, in);
                INFO(r.message);
                CHECK(r.ok);
            }
}

TEST_CASE("conv2d gradcheck with only some inputs requiring grad", "[gradcheck][conv]") {
    ConvCase c{2, 4, 4, 5, 6, 3, 2, 1, 1, 1, true, 1};
    for (int which = 0; which < 3; ++which) {
        INFO("only input " << which << " requires grad");
        std::vector<Tensor> in = case_inputs(c, 9);
        set_requires_grad(in[which]);
        auto r = gradcheck([&](const std::vector<Tensor>& x) { return run_case(c, x); }, in);
        INFO(r.message);
        CHECK(r.ok);
        // The untouched inputs received nothing.
        Tensor y = run_case(c, in);
        backward(y, ones_like(y));
        for (int other = 0; other < 3; ++other)
            if (other != which) CHECK_FALSE(grad(in[other]).defined());
    }
}
