// Graphs free everything they hold: after backward and after dropping the outputs, the number
// of live storage blocks returns to where it started, the caching allocator stops asking the
// system for memory once the loop is warm, and very deep graphs are destroyed without recursion.
#include <catch2/catch.hpp>

#include "autograd/engine.h"
#include "autograd/variable.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/linear.h"
#include "ops/loss.h"
#include "ops/math.h"
#include "ops/reduction.h"
#include "tensor/allocator.h"
#include "tensor/random.h"

using namespace cardinal;

namespace {

struct TinyNet {
    Tensor w1, b1, w2, b2;
    explicit TinyNet(uint64_t seed) {
        Generator g(seed);
        w1 = set_requires_grad(randn({16, 8}, DType::Float32, &g));
        b1 = set_requires_grad(zeros({16}));
        w2 = set_requires_grad(randn({4, 16}, DType::Float32, &g));
        b2 = set_requires_grad(zeros({4}));
    }
    // One training step's graph: forward, loss, backward; returns the loss value.
    double step(const Tensor& x, const Tensor& t) {
        Tensor h = relu(linear(x, w1, b1));
        Tensor loss = cross_entropy(linear(h, w2, b2), t);
        backward(loss);
        double v = loss.item();
        for (const Tensor& p : {w1, b1, w2, b2}) zero_grad(p);
        return v;
    }
};

}  // namespace

TEST_CASE("a forward/backward loop frees all graph storage every iteration", "[autograd][memory]") {
    TinyNet net(11);
    Generator g(12);
    Tensor x = randn({32, 8}, DType::Float32, &g);
    Tensor t = randint(0, 4, {32}, &g);
    const int64_t start = allocator_stats().live_blocks;
    int64_t system_after_warmup = 0;
    for (int it = 0; it < 30; ++it) {
        double loss = net.step(x, t);
        CHECK(std::isfinite(loss));
        INFO("iteration " << it);
        CHECK(allocator_stats().live_blocks == start);
        if (it == 2) system_after_warmup = allocator_stats().system_allocations;
    }
    // Every later iteration was served from the cache.
    CHECK(allocator_stats().system_allocations == system_after_warmup);
    CHECK(allocator_stats().cache_hits > 0);
}

TEST_CASE("a graph dropped without backward frees its storage too", "[autograd][memory]") {
    Tensor w = set_requires_grad(ones({64, 64}));
    const int64_t start = allocator_stats().live_blocks;
    {
        Tensor y = sum(exp(mul(matmul(w, w), 1e-3)));
        CHECK(allocator_stats().live_blocks > start);
    }
    CHECK(allocator_stats().live_blocks == start);
}

TEST_CASE("a 100000-deep chain is built, differentiated and destroyed without overflow",
          "[autograd][deep]") {
    const int64_t start = allocator_stats().live_blocks;
    Tensor x = set_requires_grad(zeros({2}, DType::Float64));
    Tensor one = ones({2}, DType::Float64);
    {
        Tensor y = x;
        for (int i = 0; i < 100000; ++i) y = add(y, one);
        CHECK(y.to_vector() == std::vector<double>{100000, 100000});
        // Dropped here without backward: the destructor must not recurse 100000 deep.
    }
    {
        Tensor y = x;
        for (int i = 0; i < 100000; ++i) y = add(y, one);
        backward(sum(y));
        CHECK(grad(x).to_vector() == std::vector<double>{1, 1});
    }
    zero_grad(x);
    x = Tensor();
    one = Tensor();
    CHECK(allocator_stats().live_blocks == start);
}
