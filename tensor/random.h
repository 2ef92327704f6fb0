// Seeded random numbers. The generator is counter-based: element i of a draw is a hash of
// (seed, offset + i), so the same seed gives the same numbers on every run and for every
// thread count, and the state is just two integers (easy to checkpoint).
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace cardinal {

class Generator {
public:
    explicit Generator(uint64_t seed = 0) : seed_(seed) {}
    void manual_seed(uint64_t seed) {
        seed_ = seed;
        offset_ = 0;
    }
    uint64_t seed() const { return seed_; }
    uint64_t offset() const { return offset_; }
    void set_state(uint64_t seed, uint64_t offset) {
        seed_ = seed;
        offset_ = offset;
    }
    // Reserves n counters and returns the first.
    uint64_t reserve(uint64_t n) {
        uint64_t start = offset_;
        offset_ += n;
        return start;
    }
    // 64 random bits for counter c (pure function of seed and c).
    uint64_t bits(uint64_t c) const;
    // Uniform in (0, 1) for counter c.
    double uniform01(uint64_t c) const;

private:
    uint64_t seed_;
    uint64_t offset_ = 0;
};

// The process-wide generator used when none is passed.
Generator& default_generator();
void manual_seed(uint64_t seed);

Tensor rand(const Shape& shape, DType dtype = DType::Float32, Generator* gen = nullptr);
Tensor randn(const Shape& shape, DType dtype = DType::Float32, Generator* gen = nullptr);
Tensor uniform(const Shape& shape, double low, double high, DType dtype = DType::Float32,
               Generator* gen = nullptr);
Tensor normal(const Shape& shape, double mean, double std, DType dtype = DType::Float32,
              Generator* gen = nullptr);
// Integers uniform in [low, high), int64.
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator* gen = nullptr);
// A random permutation of 0..n-1, int64.
Tensor randperm(int64_t n, Generator* gen = nullptr);
// 1 with probability p, else 0 (dtype given).
Tensor bernoulli(const Shape& shape, double p, DType dtype = DType::Float32, Generator* gen = nullptr);

}  // namespace cardinal
