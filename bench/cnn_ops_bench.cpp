// Times the float32 non-conv CNN ops on training-sized tensors, at 1 and 2 threads:
// batch_norm2d (train) forward + backward on [8, 256, 28, 28], the channels-last fused
// BatchNorm + ReLU at the Fashion-MNIST model's sizes (batch 128, 28x28, 8 to 32 channels), and
// the stem / avd / avg_down pools. Prints the median of several repetitions in milliseconds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <utility>
#include <vector>

#include "autograd/engine.h"
#include "autograd/variable.h"
#include "ops/batch_norm.h"
#include "ops/dropout.h"
#include "ops/pooling.h"
#include "tensor/memory_format.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

using namespace cardinal;

namespace {

// Minimum and median wall time over `reps` runs: on a shared machine the minimum is the
// better estimate of the uncontended time.
std::pair<double, double> time_ms(const std::function<void()>& fn, int reps = 15) {
    fn();  // warm up (allocator cache, page faults)
    std::vector<double> ms;
    for (int r = 0; r < reps; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        fn();
        auto t1 = std::chrono::steady_clock::now();
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return {ms.front(), ms[ms.size() / 2]};
}

}  // namespace

int main() {
    Generator gen(1);
    const Shape bn_shape{8, 256, 28, 28};
    Tensor x = set_requires_grad(randn(bn_shape, DType::Float32, &gen));
    Tensor w = set_requires_grad(randn({256}, DType::Float32, &gen));
    Tensor b = set_requires_grad(randn({256}, DType::Float32, &gen));
    Tensor rm = zeros({256}), rv = ones({256});
    Tensor g = randn(bn_shape, DType::Float32, &gen);
    // The Fashion-MNIST model's BatchNorm inputs: channels-last, batch 128, 28x28.
    auto channels_last_input = [&](int64_t c) {
        return set_requires_grad(
            to_memory_format(randn({128, c, 28, 28}, DType::Float32, &gen), MemoryFormat::ChannelsLast));
    };
    Tensor x8 = channels_last_input(8), x32 = channels_last_input(32);
    Tensor w8 = set_requires_grad(randn({8}, DType::Float32, &gen)), b8 = set_requires_grad(zeros({8}));
    Tensor w32 = set_requires_grad(randn({32}, DType::Float32, &gen)), b32 = set_requires_grad(zeros({32}));
    Tensor rm8 = zeros({8}), rv8 = ones({8}), rm32 = zeros({32}), rv32 = ones({32});
    Tensor g8 = to_memory_format(randn({128, 8, 28, 28}, DType::Float32, &gen), MemoryFormat::ChannelsLast);
    Tensor g32 = to_memory_format(randn({128, 32, 28, 28}, DType::Float32, &gen), MemoryFormat::ChannelsLast);
    Tensor stem = set_requires_grad(randn({8, 64, 112, 112}, DType::Float32, &gen));
    Tensor stem_g = randn({8, 64, 56, 56}, DType::Float32, &gen);

    std::printf("%-46s %21s %21s\n", "float32 op (min / median ms)", "1 thread", "2 threads");
    struct Row {
        const char* name;
        std::function<void()> fn;
    };
    std::vector<Row> rows = {
        {"batch_norm2d train fwd [8,256,28,28]", [&] { batch_norm2d(x, w, b, rm, rv, true); }},
        {"batch_norm2d train fwd+bwd [8,256,28,28]",
         [&] { backward(batch_norm2d(x, w, b, rm, rv, true), g); }},
        {"batch_norm2d eval fwd [8,256,28,28]", [&] { batch_norm2d(x, w, b, rm, rv, false); }},
        {"bn+relu NHWC train fwd [128,8,28,28]",
         [&] { batch_norm2d_relu(x8, w8, b8, rm8, rv8, true); }},
        {"bn+relu NHWC train fwd+bwd [128,8,28,28]",
         [&] { backward(batch_norm2d_relu(x8, w8, b8, rm8, rv8, true), g8); }},
        {"bn+relu NHWC train fwd [128,32,28,28]",
         [&] { batch_norm2d_relu(x32, w32, b32, rm32, rv32, true); }},
        {"bn+relu NHWC train fwd+bwd [128,32,28,28]",
         [&] { backward(batch_norm2d_relu(x32, w32, b32, rm32, rv32, true), g32); }},
        {"max_pool2d k3s2p1 fwd+bwd [8,64,112,112]",
         [&] {
             backward(max_pool2d(stem, {3, 3}, {2, 2}, {1, 1}), stem_g);
         }},
        {"avg_pool2d k3s2p1 fwd+bwd [8,256,28,28]",
         [&] {
             Tensor y = avg_pool2d(x, {3, 3}, {2, 2}, {1, 1});
             backward(y, ones(y.shape()));
         }},
        {"avg_pool2d k2s2 ceil fwd+bwd [8,256,28,28]",
         [&] {
             Tensor y = avg_pool2d(x, {2, 2}, {2, 2}, {0, 0}, true, false);
             backward(y, ones(y.shape()));
         }},
        {"global_avg_pool2d fwd+bwd [8,256,28,28]",
         [&] {
             backward(global_avg_pool2d(x), ones({8, 256, 1, 1}));
         }},
        {"drop_block2d p0.1 k3 fwd+bwd [8,256,28,28]",
         [&] { backward(drop_block2d(x, 0.1, 3, true, &gen), g); }},
    };
    for (const Row& row : rows) {
        std::pair<double, double> t[2];
        for (int threads : {1, 2}) {
            set_num_threads(threads);
            t[threads - 1] = time_ms(row.fn);
        }
        std::printf("%-46s %9.2f / %9.2f %9.2f / %9.2f\n", row.name, t[0].first, t[0].second,
                    t[1].first, t[1].second);
    }
    return 0;
}
