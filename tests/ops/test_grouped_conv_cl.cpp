// Our channels-last kernels for 4- and 8-channel groups (ops/grouped_conv_cl.h) against the
// float64 reference: forward, grad_input, grad_weight, grad_bias over a grid of kernel sizes,
// strides, paddings, dilations and odd map sizes, called directly and through conv2d's autograd
// node; backward-weights bit-identical at 1 and 2 threads.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "autograd/engine.h"
#include "autograd/variable.h"
#include "ops/conv.h"
#include "ops/dnnl/conv_dnnl.h"
#include "ops/grouped_conv_cl.h"
#include "ops/reference/conv_reference.h"
#include "tensor/memory_format.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

using namespace cardinal;
using onednn::ConvLayout;
using onednn::ConvPass;

namespace {

double rel_error(const Tensor& a, const Tensor& ref) {
    REQUIRE(a.shape() == ref.shape());
    const std::vector<double> av = a.to_vector(), rv = ref.to_vector();
    double diff = 0, scale = 1;
    for (size_t i = 0; i < av.size(); ++i) {
        diff = std::max(diff, std::abs(av[i] - rv[i]));
        scale = std::max(scale, std::abs(rv[i]));
    }
    return diff / scale;
}

struct Case {
    int64_t N, C, G, H, W, K, stride, pad, dil;
    bool bias;
    Conv2dParams params() const {
        Conv2dParams p;
        p.stride = {stride, stride};
        p.padding = {pad, pad};
        p.dilation = {dil, dil};
        p.groups = G;
        return p;
    }
    std::string str() const {
        return "N" + std::to_string(N) + " C" + std::to_string(C) + " g" + std::to_string(G) + " " +
               std::to_string(H) + "x" + std::to_string(W) + " k" + std::to_string(K) + " s" +
               std::to_string(stride) + " p" + std::to_string(pad) + " d" + std::to_string(dil) +
               (bias ? " bias" : "");
    }
};

// 4 and 8 channels per group on 16 and 32 channels; every kernel size, stride, padding and
// dilation whose dilated kernel fits; odd map sizes, so edges and stride remainders are hit.
std::vector<Case> grid() {
    std::vector<Case> cases;
    int i = 0;
    for (auto [C, G] : {std::pair<int64_t, int64_t>{16, 4}, {32, 8}, {16, 2}, {32, 4}})
        for (int64_t K : {1, 3, 5})
            for (int64_t stride : {1, 2})
                for (int64_t pad : {0, 1, 2})
                    for (int64_t dil : {1, 2}) {
                        const int64_t H = i % 2 ? 7 : 6, W = i % 3 ? 9 : 5;
                        if (dil * (K - 1) + 1 > std::min(H, W) + 2 * pad) continue;
                        ++i;
                        cases.push_back({i % 2 ? 3 : 1, C, G, H, W, K, stride, pad, dil, i % 4 < 2});
                    }
    return cases;
}

ConvGeometry channels_last_geometry(const Case& c) {
    ConvGeometry g = make_conv_geometry({c.N, c.C, c.H, c.W}, {c.C, c.C / c.G, c.K, c.K}, c.params());
    g.channels_last = true;
    return g;
}

Tensor f32_channels_last(const Tensor& t) {
    return to_memory_format(t.to(DType::Float32), MemoryFormat::ChannelsLast);
}

}  // namespace

TEST_CASE("grouped channels-last kernels match the float64 reference", "[conv][grouped_cl]") {
    for (const Case& c : grid()) {
        INFO(c.str());
        const ConvGeometry g = channels_last_geometry(c);
        REQUIRE(grouped_conv_cl::supports(g));
        CHECK((onednn::choose_layout(g, ConvPass::Forward) == ConvLayout::Grouped) == (c.C / c.G == 4));
        CHECK((onednn::choose_layout(g, ConvPass::BackwardData) == ConvLayout::Grouped) ==
              (c.C / c.G == 4));
        CHECK(onednn::choose_layout(g, ConvPass::BackwardWeights) == ConvLayout::Grouped);
        Generator gen(7);
        Tensor x = randn(g.input_shape(), DType::Float64, &gen);
        Tensor w = randn(g.weight_shape(), DType::Float64, &gen);
        Tensor b = c.bias ? randn({c.C}, DType::Float64, &gen) : Tensor();
        Tensor gy = randn(g.output_shape(), DType::Float64, &gen);
        ConvGeometry plain = g;
        plain.channels_last = false;
        const Tensor y_ref = reference::conv2d_forward(x, w, b, plain);
        const Tensor gx_ref = reference::conv2d_backward_data(gy, w, plain);
        auto [gw_ref, gb_ref] = reference::conv2d_backward_weights(gy, x, plain, c.bias);

        const Tensor y = onednn::conv2d_forward(f32_channels_last(x), w.to(DType::Float32),
                                                c.bias ? b.to(DType::Float32) : Tensor(), g, true,
                                                ConvLayout::Grouped);
        // (a 1x1 output is both layouts; memory_format_of calls it contiguous)
        CHECK((g.OH * g.OW == 1 || memory_format_of(y) == MemoryFormat::ChannelsLast));
        CHECK(rel_error(y, y_ref) < 1e-5);
        const Tensor gx = onednn::conv2d_backward_data(f32_channels_last(gy), w.to(DType::Float32),
                                                       g, ConvLayout::Grouped);
        CHECK(rel_error(gx, gx_ref) < 1e-5);
        auto [gw, gb] = onednn::conv2d_backward_weights(f32_channels_last(gy), f32_channels_last(x),
                                                        g, c.bias, ConvLayout::Grouped);
        CHECK(rel_error(gw, gw_ref) < 1e-5);
        if (c.bias) CHECK(rel_error(gb, gb_ref) < 1e-5);
    }
}

TEST_CASE("conv2d on channels-last float32 runs the grouped kernels, forward and every gradient",
          "[conv][grouped_cl]") {
    // ResNeXt's layer1 (4 channels per group) and layer2 (8, with the stride-2 first block).
    const Case cases[] = {{2, 64, 16, 10, 10, 3, 1, 1, 1, false},
                          {2, 64, 8, 10, 9, 3, 2, 1, 1, false},
                          {1, 32, 8, 8, 8, 3, 1, 2, 2, true}};
    for (const Case& c : cases) {
        INFO(c.str());
        Generator gen(11);
        const Tensor x0 = randn({c.N, c.C, c.H, c.W}, DType::Float64, &gen);
        const Tensor w0 = randn({c.C, c.C / c.G, c.K, c.K}, DType::Float64, &gen);
        const Tensor b0 = c.bias ? randn({c.C}, DType::Float64, &gen) : Tensor();
        Tensor out[2], gx[2], gw[2], gb[2];
        for (int k = 0; k < 2; ++k) {
            const DType dt = k == 0 ? DType::Float64 : DType::Float32;
            Tensor x = set_requires_grad(k == 0 ? x0.clone() : f32_channels_last(x0));
            Tensor w = set_requires_grad(w0.to(dt).clone());
            Tensor b = c.bias ? set_requires_grad(b0.to(dt).clone()) : Tensor();
            out[k] = conv2d(x, w, b, c.params());
            Generator g2(3);
            backward(out[k], randn(out[k].shape(), DType::Float64, &g2).to(dt));
            gx[k] = grad(x);
            gw[k] = grad(w);
            if (c.bias) gb[k] = grad(b);
        }
        CHECK(memory_format_of(out[1]) == MemoryFormat::ChannelsLast);
        CHECK(rel_error(out[1], out[0]) < 1e-5);
        CHECK(rel_error(gx[1], gx[0]) < 1e-5);
        CHECK(rel_error(gw[1], gw[0]) < 1e-5);
        if (c.bias) CHECK(rel_error(gb[1], gb[0]) < 1e-5);
    }
}

TEST_CASE("grouped backward-weights does not depend on the thread count", "[conv][grouped_cl]") {
    const Case c{4, 128, 32, 12, 12, 3, 1, 1, 1, true};
    const ConvGeometry g = channels_last_geometry(c);
    Generator gen(5);
    const Tensor x = f32_channels_last(randn(g.input_shape(), DType::Float64, &gen));
    const Tensor gy = f32_channels_last(randn(g.output_shape(), DType::Float64, &gen));
    const int before = get_num_threads();
    set_num_threads(1);
    auto [gw1, gb1] = onednn::conv2d_backward_weights(gy, x, g, true, ConvLayout::Grouped);
    set_num_threads(2);
    auto [gw2, gb2] = onednn::conv2d_backward_weights(gy, x, g, true, ConvLayout::Grouped);
    set_num_threads(before);
    CHECK(max_abs_diff(gw1, gw2) == 0);
    CHECK(max_abs_diff(gb1, gb2) == 0);
}

TEST_CASE("grouped kernels refuse geometries they do not handle", "[conv][grouped_cl]") {
    ConvGeometry g = channels_last_geometry({1, 16, 4, 5, 5, 3, 1, 1, 1, false});
    CHECK(grouped_conv_cl::supports(g));
    ConvGeometry nchw = g;
    nchw.channels_last = false;
    CHECK_FALSE(grouped_conv_cl::supports(nchw));
    ConvGeometry wide = channels_last_geometry({1, 32, 2, 5, 5, 3, 1, 1, 1, false});  // 16 per group
    CHECK_FALSE(grouped_conv_cl::supports(wide));
    CHECK(onednn::choose_layout(wide, ConvPass::Forward) != ConvLayout::Grouped);
    ConvGeometry odd = channels_last_geometry({1, 12, 3, 5, 5, 3, 1, 1, 1, false});  // 12 channels
    CHECK_FALSE(grouped_conv_cl::supports(odd));
    Tensor x = to_memory_format(zeros({1, 12, 5, 5}), MemoryFormat::ChannelsLast);
    CHECK_THROWS_WITH(onednn::conv2d_forward(x, zeros({12, 4, 3, 3}), Tensor(), odd, true,
                                             ConvLayout::Grouped),
                      Catch::Contains("grouped_conv_cl"));
}

TEST_CASE("fused inference through the grouped kernels: bias, residual and ReLU in the store",
          "[conv][grouped_cl]") {
    const Case c{2, 64, 16, 9, 11, 3, 1, 1, 1, true};
    Generator gen(13);
    const Tensor x = randn({c.N, c.C, c.H, c.W}, DType::Float64, &gen);
    const Tensor w = randn({c.C, c.C / c.G, c.K, c.K}, DType::Float64, &gen);
    const Tensor b = randn({c.C}, DType::Float64, &gen);
    const Tensor r = randn({c.N, c.C, c.H, c.W}, DType::Float64, &gen);
    for (bool with_residual : {false, true})
        for (bool relu : {false, true}) {
            INFO("residual " << with_residual << " relu " << relu);
            const Tensor ref = conv2d_inference(x, w, b, c.params(), with_residual ? r : Tensor(), relu);
            const Tensor y = conv2d_inference(f32_channels_last(x), w.to(DType::Float32),
                                              b.to(DType::Float32), c.params(),
                                              with_residual ? f32_channels_last(r) : Tensor(), relu);
            CHECK(memory_format_of(y) == MemoryFormat::ChannelsLast);
            CHECK(rel_error(y, ref) < 1e-5);
            if (relu) {
                const std::vector<double> v = y.to_vector();
                CHECK(*std::min_element(v.begin(), v.end()) >= 0);
            }
        }
}
