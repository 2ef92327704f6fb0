// Every invalid conv2d / rectified_conv2d configuration throws a cardinal::Error naming the op,
// what was expected and what came.
#include <catch2/catch.hpp>

#include "ops/conv.h"

using namespace cardinal;
using Catch::Matchers::Contains;

namespace {
Tensor x_(Shape s = {2, 8, 6, 6}, DType dt = DType::Float32) { return zeros(s, dt); }
Tensor w_(Shape s = {8, 2, 3, 3}, DType dt = DType::Float32) { return zeros(s, dt); }
Conv2dParams groups(int64_t g) {
    Conv2dParams p;
    p.groups = g;
    return p;
}
}  // namespace

TEST_CASE("conv2d rejects wrong ranks", "[conv][errors]") {
    CHECK_THROWS_WITH(conv2d(x_({8, 6, 6}), w_(), Tensor(), groups(4)),
                      Contains("conv2d: expected input [N, C, H, W] (rank 4), got [8, 6, 6]"));
    CHECK_THROWS_AS(conv2d(x_(), w_({8, 2, 3}), Tensor(), groups(4)), ShapeError);
    CHECK_THROWS_WITH(conv2d(x_(), w_({8, 2, 3}), Tensor(), groups(4)),
                      Contains("expected weight [O, C/groups, KH, KW] (rank 4), got [8, 2, 3]"));
}

TEST_CASE("conv2d rejects channel counts that do not match the groups", "[conv][errors]") {
    // The design note's example: 64 input channels, weight built for 32 with groups=4.
    CHECK_THROWS_AS(conv2d(x_({1, 64, 5, 5}), w_({16, 8, 3, 3}), Tensor(), groups(4)), ShapeError);
    CHECK_THROWS_WITH(conv2d(x_({1, 64, 5, 5}), w_({16, 8, 3, 3}), Tensor(), groups(4)),
                      "conv2d: input has 64 channels, weight expects 32 (groups=4)");
    CHECK_THROWS_WITH(conv2d(x_({1, 6, 5, 5}), w_({8, 2, 3, 3}), Tensor(), groups(4)),
                      "conv2d: input has 6 channels, not divisible by groups=4");
    CHECK_THROWS_WITH(conv2d(x_(), w_({6, 2, 3, 3}), Tensor(), groups(4)),
                      "conv2d: weight has 6 output channels, not divisible by groups=4");
    CHECK_THROWS_WITH(conv2d(x_(), w_(), Tensor(), groups(0)),
                      "conv2d: groups must be >= 1, got 0");
}

TEST_CASE("conv2d rejects a kernel larger than the padded input", "[conv][errors]") {
    CHECK_THROWS_AS(conv2d(x_({1, 2, 4, 4}), w_({2, 2, 5, 5})), ShapeError);
    CHECK_THROWS_WITH(conv2d(x_({1, 2, 4, 4}), w_({2, 2, 5, 5})),
                      Contains("kernel 5x5 (dilated extent 5x5) is larger than the padded input 4x4"));
    Conv2dParams p;
    p.dilation = {3, 3};  // 3x3 kernel spans 7 > 4 + 2
    p.padding = {1, 1};
    CHECK_THROWS_WITH(conv2d(x_({1, 2, 4, 4}), w_({2, 2, 3, 3}), Tensor(), p),
                      Contains("(dilated extent 7x7) is larger than the padded input 6x6"));
    p.padding = {2, 2};  // now it fits
    CHECK_NOTHROW(conv2d(x_({1, 2, 4, 4}), w_({2, 2, 3, 3}), Tensor(), p));
}

TEST_CASE("conv2d rejects non-positive stride or dilation and negative padding", "[conv][errors]") {
    Conv2dParams p;
    p.stride = {1, 0};
    CHECK_THROWS_AS(conv2d(x_(), w_({8, 8, 3, 3}), Tensor(), p), ValueError);
    CHECK_THROWS_WITH(conv2d(x_(), w_({8, 8, 3, 3}), Tensor(), p),
                      "conv2d: stride must be >= 1, got 1x0");
    p = {};
    p.dilation = {0, 1};
    CHECK_THROWS_WITH(conv2d(x_(), w_({8, 8, 3, 3}), Tensor(), p),
                      "conv2d: dilation must be >= 1, got 0x1");
    p = {};
    p.padding = {-1, 0};
    CHECK_THROWS_WITH(conv2d(x_(), w_({8, 8, 3, 3}), Tensor(), p),
                      "conv2d: padding must be >= 0, got -1x0");
}

TEST_CASE("conv2d rejects mixed or integer dtypes", "[conv][errors]") {
    CHECK_THROWS_AS(conv2d(x_(), w_({8, 8, 3, 3}, DType::Float64)), DTypeError);
    CHECK_THROWS_WITH(conv2d(x_(), w_({8, 8, 3, 3}, DType::Float64)),
                      "conv2d: weight is float64 but input is float32");
    CHECK_THROWS_WITH(conv2d(x_({2, 8, 6, 6}, DType::Int64), w_({8, 8, 3, 3}, DType::Int64)),
                      "conv2d: input must be float32 or float64, got int64");
    CHECK_THROWS_WITH(conv2d(x_(), w_({8, 8, 3, 3}), zeros({8}, DType::Float64)),
                      "conv2d: bias is float64 but input is float32");
}

TEST_CASE("conv2d rejects a bias of the wrong shape", "[conv][errors]") {
    CHECK_THROWS_AS(conv2d(x_(), w_({8, 8, 3, 3}), zeros({4})), ShapeError);
    CHECK_THROWS_WITH(conv2d(x_(), w_({8, 8, 3, 3}), zeros({4})),
                      "conv2d: bias must have shape [8], got [4]");
    CHECK_THROWS_WITH(conv2d(x_(), w_({8, 8, 3, 3}), zeros({1, 8})),
                      "conv2d: bias must have shape [8], got [1, 8]");
}

TEST_CASE("conv2d rejects empty tensors", "[conv][errors]") {
    CHECK_THROWS_WITH(conv2d(x_({0, 8, 6, 6}), w_({8, 8, 3, 3})),
                      "conv2d: input [0, 8, 6, 6] is empty");
}

TEST_CASE("rectified_conv2d names itself and refuses outputs that see no input", "[conv][errors]") {
    CHECK_THROWS_WITH(rectified_conv2d(x_({1, 64, 5, 5}), w_({16, 8, 3, 3}), Tensor(), groups(4),
                                       false),
                      "rectified_conv2d: input has 64 channels, weight expects 32 (groups=4)");
    Conv2dParams p;
    p.padding = {1, 1};  // a 1x1 kernel at the corner reads only padding: count 0
    CHECK_THROWS_AS(rectified_conv2d(x_(), w_({8, 8, 1, 1}), Tensor(), p, false), ValueError);
    CHECK_THROWS_WITH(rectified_conv2d(x_(), w_({8, 8, 1, 1}), Tensor(), p, true),
                      Contains("rectified_conv2d: output (0, 0) has no kernel tap inside the 6x6 input"));
}
