// The oneDNN reorder counter that `cardinal bench` reports: a convolution on plain NCHW memory
// forced into oneDNN's blocked layout converts its input and weights in and its output back out,
// and the counter sees every one of them; run on the plain layout it sees none.
#include <catch2/catch.hpp>

#include "ops/conv_geometry.h"
#include "ops/dnnl/conv_dnnl.h"
#include "ops/dnnl/reorder_stats.h"
#include "tensor/random.h"

using namespace cardinal;
using onednn::ConvLayout;

TEST_CASE("reorder counter: adds what it is told", "[reorder_stats]") {
    const int64_t before = onednn::reorders_executed();
    onednn::count_reorders();
    onednn::count_reorders(3);
    CHECK(onednn::reorders_executed() - before == 4);
}

TEST_CASE("reorder counter: counts the reorders of a blocked convolution", "[reorder_stats]") {
    Generator gen(3);
    const Shape xs{2, 16, 9, 9}, ws{32, 16, 3, 3};
    Conv2dParams p;
    p.padding = {1, 1};
    const ConvGeometry g = make_conv_geometry(xs, ws, p);
    Tensor x = randn(xs, DType::Float32, &gen), w = randn(ws, DType::Float32, &gen);

    int64_t before = onednn::reorders_executed();
    onednn::conv2d_forward(x, w, Tensor(), g, false, ConvLayout::Plain);
    CHECK(onednn::reorders_executed() == before);

    before = onednn::reorders_executed();
    onednn::conv2d_forward(x, w, Tensor(), g, false, ConvLayout::Blocked);
    // NCHW source and destination cannot be what a blocked kernel runs on: at least those two.
    const int64_t blocked = onednn::reorders_executed() - before;
    CHECK(blocked >= 2);
    CHECK(blocked <= 3);  // source, weights, destination: nothing else is converted
}
