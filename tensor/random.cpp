#include "tensor/random.h"

#include "tensor/parallel.h"

#include <cmath>

namespace cardinal {
namespace {
uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
Generator& gen_or_default(Generator* g) { return g ? *g : default_generator(); }

// Fills t (contiguous, float) with f(counter_base + i) in parallel; deterministic per element.
template <typename F>
Tensor fill_with(const Shape& shape, DType dtype, Generator& g, uint64_t counters_per_elem, F f) {
    Tensor t = empty(shape, dtype);
    const int64_t n = t.numel();
    const uint64_t base = g.reserve(static_cast<uint64_t>(n) * counters_per_elem);
    dispatch_floating(dtype, "random", [&](auto tag) {
        using T = decltype(tag);
        T* p = t.data<T>();
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
        for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(f(base + counters_per_elem * i));
    });
    return t;
}
}  // namespace

uint64_t Generator::bits(uint64_t c) const { return splitmix64(splitmix64(seed_) ^ splitmix64(c ^ 0x5DEECE66Dull)); }

double Generator::uniform01(uint64_t c) const {
    return (static_cast<double>(bits(c) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

Generator& default_generator() {
    static Generator g(0);
    return g;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

Tensor uniform(const Shape& shape, double low, double high, DType dtype, Generator* gen) {
    check<ValueError>(low <= high, "uniform: low ", low, " > high ", high);
    Generator& g = gen_or_default(gen);
    return fill_with(shape, dtype, g, 1, [&](uint64_t c) { return low + (high - low) * g.uniform01(c); });
}

Tensor rand(const Shape& shape, DType dtype, Generator* gen) { return uniform(shape, 0, 1, dtype, gen); }

Tensor normal(const Shape& shape, double mean, double std, DType dtype, Generator* gen) {
    check<ValueError>(std >= 0, "normal: std must be >= 0, got ", std);
    Generator& g = gen_or_default(gen);
    // Box-Muller on two counters per element.
    return fill_with(shape, dtype, g, 2, [&](uint64_t c) {
        double u1 = g.uniform01(c), u2 = g.uniform01(c + 1);
        return mean + std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    });
}

Tensor randn(const Shape& shape, DType dtype, Generator* gen) { return normal(shape, 0, 1, dtype, gen); }

Tensor bernoulli(const Shape& shape, double p, DType dtype, Generator* gen) {
    check<ValueError>(p >= 0 && p <= 1, "bernoulli: p must be in [0, 1], got ", p);
    Generator& g = gen_or_default(gen);
    return fill_with(shape, dtype, g, 1, [&](uint64_t c) { return g.uniform01(c) < p ? 1.0 : 0.0; });
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator* gen) {
    check<ValueError>(low < high, "randint: empty range [", low, ", ", high, ")");
    Generator& g = gen_or_default(gen);
    Tensor t = empty(shape, DType::Int64);
    int64_t n = t.numel();
    uint64_t base = g.reserve(n);
    uint64_t range = static_cast<uint64_t>(high - low);
    int64_t* p = t.data<int64_t>();
    for (int64_t i = 0; i < n; ++i) p[i] = low + static_cast<int64_t>(g.bits(base + i) % range);
    return t;
}

Tensor randperm(int64_t n, Generator* gen) {
    check<ValueError>(n >= 0, "randperm: n must be >= 0, got ", n);
    Generator& g = gen_or_default(gen);
    Tensor t = arange(n, DType::Int64);
    int64_t* p = t.data<int64_t>();
    uint64_t base = g.reserve(n);
    for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates
        int64_t j = static_cast<int64_t>(g.bits(base + i) % static_cast<uint64_t>(i + 1));
        std::swap(p[i], p[j]);
    }
    return t;
}

}  // namespace cardinal
