// The inference kernels of the attention gates (ops/channel_gates.h) against the plain ops they
// replace, in float32 and float64, on channels-last tensors and on channel slices of them (the
// radix splits), and their refusals.
#include <catch2/catch.hpp>

#include "autograd/grad_mode.h"
#include "autograd/variable.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/channel_gates.h"
#include "ops/conv.h"
#include "ops/mac_counter.h"
#include "ops/reduction.h"
#include "tensor/memory_format.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

using namespace cardinal;

namespace {

double max_rel(const Tensor& a, const Tensor& ref) {
    const Tensor r = ref.to(DType::Float64);
    return max_abs_diff(a.to(DType::Float64), r) / std::max(1.0, max_abs_diff(r, zeros_like(r)));
}

// `count` channel slices of one channels-last [N, count*C, H, W] tensor, as SplitAttn's splits.
std::vector<Tensor> slices(const Shape& s, int64_t count, DType dtype, Generator* gen) {
    Tensor whole = to_memory_format(randn({s[0], s[1] * count, s[2], s[3]}, dtype, gen), MemoryFormat::ChannelsLast);
    std::vector<Tensor> out;
    for (int64_t i = 0; i < count; ++i) out.push_back(whole.narrow(1, i * s[1], s[1]));
    return out;
}

std::vector<Tensor> separate(const Shape& s, int64_t count, DType dtype, Generator* gen) {
    std::vector<Tensor> out;
    for (int64_t i = 0; i < count; ++i)
        out.push_back(to_memory_format(randn(s, dtype, gen), MemoryFormat::ChannelsLast));
    return out;
}

}  // namespace

TEST_CASE("pixel_major accepts channels-last tensors and their channel slices only", "[ops][gates]") {
    Tensor nchw = randn({2, 8, 5, 4});
    Tensor nhwc = to_memory_format(nchw, MemoryFormat::ChannelsLast);
    CHECK_FALSE(pixel_major(nchw));
    CHECK(pixel_major(nhwc));
    CHECK(pixel_major(nhwc.narrow(1, 4, 4)));
    CHECK_FALSE(pixel_major(nhwc.narrow(3, 1, 2)));  // a column slice: rows no longer at one stride
    CHECK(pixel_major(randn({3, 16, 1, 1})));        // a 1x1 map is both layouts
    CHECK(pixel_major(to_memory_format(randn({1, 6, 7, 1}), MemoryFormat::ChannelsLast)));
    CHECK_FALSE(pixel_major(randn({2, 8, 5})));
    CHECK_FALSE(pixel_major(zeros({1, 8, 2, 2}, DType::Int64)));
}

TEST_CASE("pool_sum and gated_sum match the plain ops", "[ops][gates]") {
    Generator gen(5);
    const std::vector<Shape> shapes = {{2, 24, 9, 7}, {1, 40, 12, 12}, {3, 8, 1, 1}, {1, 16, 5, 1}, {2, 130, 3, 4}};
    for (DType dtype : {DType::Float32, DType::Float64}) {
        const double tol = dtype == DType::Float32 ? 1e-6 : 1e-13;
        for (const Shape& s : shapes)
            for (int64_t count : {1, 2, 3})
                for (bool sliced : {false, true}) {
                    INFO(dtype_name(dtype) << " " << shape_str(s) << " paths " << count << " sliced " << sliced);
                    const std::vector<Tensor> paths = sliced ? slices(s, count, dtype, &gen) : separate(s, count, dtype, &gen);
                    NoGradGuard ng;
                    Tensor total = paths[0];
                    for (int64_t i = 1; i < count; ++i) total = total + paths[i];
                    const Tensor pooled = pool_sum(paths);
                    CHECK(pooled.shape() == Shape{s[0], s[1]});
                    CHECK(max_rel(pooled, mean(total, {2, 3}).to(DType::Float64)) < tol);

                    const Tensor w = uniform({s[0], count, s[1]}, 0.0, 1.0, dtype, &gen);
                    const Tensor residual = to_memory_format(randn(s, dtype, &gen), MemoryFormat::ChannelsLast);
                    for (bool relu_on : {false, true})
                        for (bool with_residual : {false, true}) {
                            Tensor ref = paths[0] * w.narrow(1, 0, 1).reshape({s[0], s[1], 1, 1});
                            for (int64_t i = 1; i < count; ++i)
                                ref = ref + paths[i] * w.narrow(1, i, 1).reshape({s[0], s[1], 1, 1});
                            if (with_residual) ref = ref + residual;
                            if (relu_on) ref = relu(ref);
                            const Tensor y = gated_sum(paths, w, with_residual ? residual : Tensor(), relu_on);
                            INFO("relu " << relu_on << " residual " << with_residual);
                            CHECK(y.shape() == s);
                            CHECK(is_channels_last(y));
                            CHECK(max_rel(y, ref) < tol);
                        }
                }
    }
}

TEST_CASE("pool_sum does not depend on the thread count", "[ops][gates]") {
    Generator gen(2);
    const std::vector<Tensor> paths = separate({1, 64, 40, 40}, 2, DType::Float32, &gen);
    NoGradGuard ng;
    const Tensor a = pool_sum(paths);
    const int before = get_num_threads();
    set_num_threads(1);
    const Tensor b = pool_sum(paths);
    set_num_threads(before);
    CHECK(max_abs_diff(a, b) == 0.0);
}

TEST_CASE("gate_fc is the 1x1 convolution on a 1x1 map", "[ops][gates]") {
    Generator gen(9);
    for (DType dtype : {DType::Float32, DType::Float64})
        for (int64_t groups : {1, 2, 4})
            for (bool bias : {false, true})
                for (bool relu_on : {false, true}) {
                    INFO(dtype_name(dtype) << " groups " << groups << " bias " << bias << " relu " << relu_on);
                    const int64_t n = 3, in = 32, out = 24;
                    const Tensor x = randn({n, in}, dtype, &gen);
                    const Tensor w = randn({out, in / groups, 1, 1}, dtype, &gen);
                    const Tensor b = bias ? randn({out}, dtype, &gen) : Tensor();
                    NoGradGuard ng;
                    Conv2dParams params;
                    params.groups = groups;
                    Tensor ref = conv2d(x.reshape({n, in, 1, 1}), w, b, params).reshape({n, out});
                    if (relu_on) ref = relu(ref);
                    MacCounter macs;
                    const Tensor y = gate_fc(x, w, b, groups, relu_on);
                    CHECK(macs.total() == n * out * (in / groups));  // as the 1x1 conv counts
                    CHECK(y.shape() == Shape{n, out});
                    CHECK(max_rel(y, ref) < (dtype == DType::Float32 ? 1e-6 : 1e-13));
                }
}

TEST_CASE("the gate kernels refuse wrong inputs and inputs that want a gradient", "[ops][gates]") {
    Generator gen(4);
    const Tensor nhwc = to_memory_format(randn({1, 8, 4, 4}, DType::Float32, &gen), MemoryFormat::ChannelsLast);
    const Tensor w = ones({1, 1, 8});
    CHECK_THROWS_WITH(pool_sum({randn({1, 8, 4, 4})}), Catch::Contains("pixel-major"));
    CHECK_THROWS_WITH(pool_sum({}), Catch::Contains("at least one path"));
    CHECK_THROWS_WITH(pool_sum({nhwc, to_memory_format(randn({1, 8, 2, 2}), MemoryFormat::ChannelsLast)}),
                      Catch::Contains("share shape"));
    CHECK_THROWS_WITH(gated_sum({nhwc}, ones({1, 2, 8})), Catch::Contains("expected weights"));
    CHECK_THROWS_WITH(gated_sum({nhwc}, w, randn({1, 8, 4, 4})), Catch::Contains("residual"));
    CHECK_THROWS_WITH(gate_fc(randn({2, 8}), randn({4, 3, 1, 1}), Tensor(), 2, false), Catch::Contains("1x1 weight"));
    CHECK_THROWS_WITH(gate_fc(randn({2, 8}), randn({4, 8, 1, 1}), randn({3}), 1, false), Catch::Contains("bias"));
    const Tensor wants_cl = set_requires_grad(to_memory_format(randn({1, 8, 4, 4}), MemoryFormat::ChannelsLast));
    CHECK_THROWS_WITH(pool_sum({wants_cl}), Catch::Contains("inference only"));
    CHECK_THROWS_WITH(gated_sum({nhwc}, set_requires_grad(ones({1, 1, 8}))), Catch::Contains("inference only"));
    CHECK_THROWS_WITH(gate_fc(randn({2, 8}), set_requires_grad(randn({4, 8, 1, 1})), Tensor(), 1, false),
                      Catch::Contains("inference only"));
    NoGradGuard ng;  // with grad mode off the same tensors are fine
    CHECK(pool_sum({wants_cl}).shape() == Shape{1, 8});
}
