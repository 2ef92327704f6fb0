// float32 oneDNN convolution against the float64 reference on the same inputs: forward,
// grad_input, grad_weight, grad_bias, for every layout and through conv2d's autograd node.
#include <catch2/catch.hpp>

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "autograd/engine.h"
#include "autograd/variable.h"
#include "conv_cases.h"
#include "ops/conv.h"
#include "ops/dnnl/conv_dnnl.h"
#include "ops/dnnl/primitive_cache.h"
#include "ops/reference/conv_reference.h"
#include "tensor/memory_format.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

using namespace cardinal;
using conv_test::ConvCase;
using onednn::ConvLayout;

namespace {

// max|a - ref| / max(1, max|ref|)
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

struct Inputs {
    Tensor x, w, b, gy;  // float64
};

Inputs make_inputs(const ConvCase& c, uint64_t seed) {
    Generator gen(seed);
    Inputs in;
    in.x = randn(c.x_shape(), DType::Float64, &gen);
    in.w = randn(c.w_shape(), DType::Float64, &gen);
    if (c.bias) in.b = randn({c.O}, DType::Float64, &gen);
    const ConvGeometry g = make_conv_geometry(c.x_shape(), c.w_shape(), c.params());
    in.gy = randn(g.output_shape(), DType::Float64, &gen);
    return in;
}

Tensor f32(const Tensor& t) { return t.defined() ? t.to(DType::Float32) : t; }

// The oneDNN passes called directly, in one layout, against the reference passes.
void compare_passes(const ConvCase& c, ConvLayout layout) {
    const Inputs in = make_inputs(c, 21);
    const ConvGeometry g = make_conv_geometry(c.x_shape(), c.w_shape(), c.params());
    Tensor y_ref = reference::conv2d_forward(in.x, in.w, in.b, g);
    Tensor gx_ref = reference::conv2d_backward_data(in.gy, in.w, g);
    auto [gw_ref, gb_ref] = reference::conv2d_backward_weights(in.gy, in.x, g, c.bias);

    for (bool training : {false, true})
        CHECK(rel_error(onednn::conv2d_forward(f32(in.x), f32(in.w), f32(in.b), g, training, layout),
                        y_ref) < 1e-4);
    CHECK(rel_error(onednn::conv2d_backward_data(f32(in.gy), f32(in.w), g, layout), gx_ref) < 1e-4);
    auto [gw, gb] = onednn::conv2d_backward_weights(f32(in.gy), f32(in.x), g, c.bias, layout);
    CHECK(rel_error(gw, gw_ref) < 1e-4);
    if (c.bias) CHECK(rel_error(gb, gb_ref) < 1e-4);
}

// conv2d / rectified_conv2d with autograd, float32 against float64 on the same values.
void compare_autograd(const ConvCase& c) {
    const Inputs in = make_inputs(c, 33);
    std::vector<Tensor> grads[2];
    Tensor outputs[2];
    for (int k = 0; k < 2; ++k) {
        const DType dt = k == 0 ? DType::Float64 : DType::Float32;
        Tensor x = set_requires_grad(in.x.to(dt).clone());
        Tensor w = set_requires_grad(in.w.to(dt).clone());
        Tensor b = c.bias ? set_requires_grad(in.b.to(dt).clone()) : Tensor();
        outputs[k] = c.rectify ? rectified_conv2d(x, w, b, c.params(), c.rectify == 2)
                               : conv2d(x, w, b, c.params());
        backward(outputs[k], in.gy.to(dt));
        grads[k] = {grad(x), grad(w), c.bias ? grad(b) : Tensor()};
    }
    CHECK(outputs[1].dtype() == DType::Float32);
    CHECK(rel_error(outputs[1], outputs[0]) < 1e-4);
    CHECK(rel_error(grads[1][0], grads[0][0]) < 1e-4);
    CHECK(rel_error(grads[1][1], grads[0][1]) < 1e-4);
    if (c.bias) CHECK(rel_error(grads[1][2], grads[0][2]) < 1e-4);
}

}  // namespace

TEST_CASE("oneDNN conv passes match the float64 reference over the grid", "[conv][dnnl]") {
    for (int64_t k : {1, 3, 5})
        for (const ConvCase& c : conv_test::conv_grid(k)) {
            INFO(c.str());
            {
                INFO("plain layout");
                compare_passes(c, ConvLayout::Plain);
            }
            {
                INFO("blocked layout");
                compare_passes(c, ConvLayout::Blocked);
            }
            {
                INFO("gemm layout");
                compare_passes(c, ConvLayout::Gemm);
            }
            if (k == 3) {  // one kernel size: NHWC shares all its plumbing with Blocked
                INFO("channels-last layout");
                compare_passes(c, ConvLayout::ChannelsLast);
            }
        }
}

TEST_CASE("float32 conv2d autograd matches float64 over the grid", "[conv][dnnl]") {
    for (int64_t k : {1, 3, 5})
        for (const ConvCase& c : conv_test::conv_grid(k)) {
            INFO(c.str());
            compare_autograd(c);
        }
}

TEST_CASE("oneDNN conv matches the reference on ResNeXt-like shapes", "[conv][dnnl]") {
    for (const ConvCase& c : conv_test::resnext_cases()) {
        INFO(c.str());
        for (ConvLayout layout : {ConvLayout::Plain, ConvLayout::Blocked, ConvLayout::ChannelsLast,
                                  ConvLayout::Gemm, ConvLayout::Auto}) {
            INFO("layout " << static_cast<int>(layout));
            compare_passes(c, layout);
        }
        compare_autograd(c);
    }
}

TEST_CASE("conv matches the reference on resnest_small-like shapes", "[conv][dnnl]") {
    // The shapes choose_layout sends to im2col + sgemm: 1-channel and 8-channel dense stems,
    // radix-2 grouped 3x3 on 4 channels per group, 1x1 convs on large maps and on 1x1 maps
    // (attention fcs, grouped and with bias).
    for (const ConvCase& c : conv_test::small_model_cases()) {
        INFO(c.str());
        for (ConvLayout layout : {ConvLayout::Gemm, ConvLayout::Auto}) {
            INFO("layout " << static_cast<int>(layout));
            compare_passes(c, layout);
        }
        compare_autograd(c);
    }
}

TEST_CASE("oneDNN conv primitives are created once per configuration", "[conv][dnnl]") {
    onednn::clear_conv_cache();
    CHECK(onednn::dnnl_cache_stats().entries == 0);
    const ConvCase c{2, 8, 8, 9, 9, 3, 4, 1, 1, 1, true, 0};
    const Inputs in = make_inputs(c, 5);
    const ConvGeometry g = make_conv_geometry(c.x_shape(), c.w_shape(), c.params());
    Tensor x = f32(in.x), w = f32(in.w), b = f32(in.b), gy = f32(in.gy);

    const auto before = onednn::dnnl_cache_stats();
    Tensor y1 = onednn::conv2d_forward(x, w, b, g, true);
    const auto first = onednn::dnnl_cache_stats();
    CHECK(first.created == before.created + 1);
    Tensor y2 = onednn::conv2d_forward(x, w, b, g, true);
    const auto second = onednn::dnnl_cache_stats();
    CHECK(second.created == first.created);  // no new primitive
    CHECK(second.hits == first.hits + 1);
    CHECK(max_abs_diff(y1, y2) == 0);

    // Backward passes reuse the cached forward primitive_desc as their hint: one new entry each.
    onednn::conv2d_backward_data(gy, w, g);
    onednn::conv2d_backward_weights(gy, x, g, true);
    const auto third = onednn::dnnl_cache_stats();
    onednn::conv2d_backward_data(gy, w, g);
    onednn::conv2d_backward_weights(gy, x, g, true);
    CHECK(onednn::dnnl_cache_stats().created == third.created);

    // A different shape or an inference forward is a different primitive.
    onednn::conv2d_forward(x, w, b, g, false);
    CHECK(onednn::dnnl_cache_stats().created == third.created + 1);

    // The same through the differentiable op, over two steps.
    Tensor xr = set_requires_grad(x.clone()), wr = set_requires_grad(w.clone());
    Tensor br = set_requires_grad(b.clone());
    backward(conv2d(xr, wr, br, c.params()), gy);
    const auto step1 = onednn::dnnl_cache_stats();
    backward(conv2d(xr, wr, br, c.params()), gy);
    CHECK(onednn::dnnl_cache_stats().created == step1.created);
    onednn::clear_conv_cache();
    CHECK(onednn::dnnl_cache_stats().entries == 0);
}

TEST_CASE("conv2d accepts non-contiguous views in both dtypes", "[conv]") {
    Generator gen(4);
    for (DType dt : {DType::Float64, DType::Float32}) {
        // A channel slice of a wider tensor (as the split blocks produce) and a transposed weight.
        Tensor wide = randn({2, 12, 7, 6}, dt, &gen);
        Tensor x = wide.narrow(1, 4, 8);
        Tensor w = randn({3, 3, 4, 6}, dt, &gen).permute({3, 2, 0, 1});  // [6, 4, 3, 3] view
        Conv2dParams p;
        p.padding = {1, 1};
        p.groups = 2;
        REQUIRE_FALSE(x.is_contiguous());
        REQUIRE_FALSE(w.is_contiguous());
        Tensor y = conv2d(x, w, Tensor(), p);
        Tensor expect = conv2d(x.contiguous(), w.contiguous(), Tensor(), p);
        CHECK(max_abs_diff(y, expect) == 0);
    }
}

TEST_CASE("Gemm backward-weights adds only the partial sums of threads that ran", "[conv][threads]") {
    // Called from inside another parallel region with nesting off, the convolution asks for 2
    // threads and gets a team of 1. Before the fix the second thread's partial sums, never
    // written, were added in: whatever the allocator had there (here 1e30) reached grad_w.
    set_num_threads(2);
    const ConvCase c{8, 32, 32, 16, 16, 3, 1, 1, 1, 1, true, 0};  // N C O H W K groups s p d
    const Inputs in = make_inputs(c, 5);
    const ConvGeometry g = make_conv_geometry(c.x_shape(), c.w_shape(), c.params());
    const Tensor gy = f32(in.gy), x = f32(in.x);
    auto [gw_ref, gb_ref] = onednn::conv2d_backward_weights(gy, x, g, true, ConvLayout::Gemm);
    const int64_t partial_floats = 2 * (g.O * g.cg() * g.KH * g.KW + g.O);
    const int saved_levels = omp_get_max_active_levels();
    omp_set_max_active_levels(1);
    std::vector<Tensor> gw(2), gb(2);
#pragma omp parallel num_threads(2)
    {
        const int t = omp_get_thread_num();
        {  // leave garbage in the allocator's free list at the scratch's size
            Tensor dirt = empty({partial_floats}, DType::Float32);
            dirt.fill_(1e30);
        }
        auto [w, b] = onednn::conv2d_backward_weights(gy, x, g, true, ConvLayout::Gemm);
        gw[t] = w;
        gb[t] = b;
    }
    omp_set_max_active_levels(saved_levels);
    for (int t = 0; t < 2; ++t) {
        INFO("outer thread " << t);
        CHECK(rel_error(gw[t], gw_ref) < 1e-5);
        CHECK(rel_error(gb[t], gb_ref) < 1e-5);
    }
}

TEST_CASE("channels-last pointwise convs (one sgemm per group) match the reference", "[conv][dnnl]") {
    // choose_layout sends channels-last 1x1 stride-1 backward passes to Gemm, which reads the
    // map as an [N*H*W, C] matrix; every pass, in Gemm, oneDNN's NHWC and Auto, against float64.
    std::vector<ConvCase> cases;
    for (const ConvCase& c : conv_test::conv_grid(1))
        if (c.stride == 1 && c.pad == 0) cases.push_back(c);  // (rectify is not used here)
    cases.push_back({2, 32, 16, 9, 11, 1, 1, 1, 0, 1, true, 0});   // reduce (C >= O)
    cases.push_back({3, 8, 32, 13, 7, 1, 1, 1, 0, 1, false, 0});   // widen (C < O)
    cases.push_back({2, 64, 32, 6, 6, 1, 4, 1, 0, 1, false, 0});   // grouped
    REQUIRE(cases.size() >= 6);
    for (const ConvCase& c : cases) {
        INFO(c.str());
        const Inputs in = make_inputs(c, 45);
        ConvGeometry g = make_conv_geometry(c.x_shape(), c.w_shape(), c.params());
        g.channels_last = true;
        const Tensor y_ref = reference::conv2d_forward(in.x, in.w, in.b, g);
        const Tensor gx_ref = reference::conv2d_backward_data(in.gy, in.w, g);
        const auto [gw_ref, gb_ref] = reference::conv2d_backward_weights(in.gy, in.x, g, c.bias);
        const Tensor x = to_memory_format(f32(in.x), MemoryFormat::ChannelsLast);
        const Tensor gy = to_memory_format(f32(in.gy), MemoryFormat::ChannelsLast);
        for (ConvLayout layout : {ConvLayout::Gemm, ConvLayout::ChannelsLast, ConvLayout::Auto}) {
            INFO("layout " << static_cast<int>(layout));
            const Tensor y = onednn::conv2d_forward(x, f32(in.w), f32(in.b), g, true, layout);
            CHECK(memory_format_of(y) == MemoryFormat::ChannelsLast);
            CHECK(rel_error(y, y_ref) < 1e-4);
            const Tensor gx = onednn::conv2d_backward_data(gy, f32(in.w), g, layout);
            CHECK(memory_format_of(gx) == MemoryFormat::ChannelsLast);
            CHECK(rel_error(gx, gx_ref) < 1e-4);
            const auto [gw, gb] = onednn::conv2d_backward_weights(gy, x, g, c.bias, layout);
            CHECK(rel_error(gw, gw_ref) < 1e-4);
            if (c.bias) CHECK(rel_error(gb, gb_ref) < 1e-4);
        }
    }
}

TEST_CASE("the im2col gemm path refuses a channels-last geometry it cannot read", "[conv][dnnl]") {
    const ConvCase c{1, 4, 4, 5, 7, 3, 1, 1, 1, 1, false, 0};
    ConvGeometry g = make_conv_geometry(c.x_shape(), c.w_shape(), c.params());
    g.channels_last = true;
    const Tensor x = to_memory_format(randn(c.x_shape()), MemoryFormat::ChannelsLast);
    CHECK_THROWS_WITH(onednn::conv2d_forward(x, randn(c.w_shape()), Tensor(), g, true, ConvLayout::Gemm),
                      Catch::Contains("only for 1x1 stride-1 unpadded convolutions, got kernel 3x3"));
}

TEST_CASE("channels-last strided 1x1 backward-weights on few channels: odd batches, 2 threads",
          "[conv][dnnl]") {
    // oneDNN 2.6's jit_1x1 backward-weights corrupted the heap here (cardinal train --batch 7
    // --threads 2 aborted in free()); choose_layout sends the pass to our sgemm on the strided
    // subsample of the input. Repeated, so that a heap corruption also shows as a crash.
    const int before = get_num_threads();
    set_num_threads(2);
    for (int64_t N : {5, 7, 9})
        for (int64_t C : {1, 8}) {
            INFO("N " << N << " C " << C);
            Conv2dParams p;
            p.stride = {2, 2};
            ConvGeometry g = make_conv_geometry({N, C, 28, 27}, {16, C, 1, 1}, p);
            g.channels_last = true;
            CHECK(onednn::choose_layout(g, onednn::ConvPass::BackwardWeights) == ConvLayout::Gemm);
            Generator gen(3);
            const Tensor x = randn(g.input_shape(), DType::Float64, &gen);
            const Tensor gy = randn(g.output_shape(), DType::Float64, &gen);
            ConvGeometry plain = g;
            plain.channels_last = false;
            auto [gw_ref, gb_ref] = reference::conv2d_backward_weights(gy, x, plain, true);
            const Tensor xf = to_memory_format(x.to(DType::Float32), MemoryFormat::ChannelsLast);
            const Tensor gyf = to_memory_format(gy.to(DType::Float32), MemoryFormat::ChannelsLast);
            for (int rep = 0; rep < 20; ++rep) {
                auto [gw, gb] = onednn::conv2d_backward_weights(gyf, xf, g, true);
                CHECK(rel_error(gw, gw_ref) < 1e-5);
                CHECK(rel_error(gb, gb_ref) < 1e-5);
            }
        }
    set_num_threads(before);
}
