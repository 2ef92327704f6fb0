// Element types a tensor can hold. float32 is the fast path (oneDNN), float64 the reference
// path (gradcheck, fixtures), int64 holds labels and counters. bfloat16 is storage only: the
// activations between the convolutions of bf16 inference (ops/precision.h). No arithmetic kernel
// takes it; copy_ / to() convert it to and from float32 and float64, and the few inference ops
// that read it say so.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "tensor/error.h"

namespace cardinal {

enum class DType : uint8_t { Float32, Float64, Int64, BFloat16 };

constexpr size_t dtype_size(DType t) {
    return t == DType::Float32 ? 4 : t == DType::BFloat16 ? 2 : 8;
}

inline const char* dtype_name(DType t) {
    switch (t) {
        case DType::Float32: return "float32";
        case DType::Float64: return "float64";
        case DType::Int64: return "int64";
        case DType::BFloat16: return "bfloat16";
    }
    return "?";
}

// The dtypes arithmetic runs on (bfloat16 is storage only, see the top of the file).
inline bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

// One bfloat16: the upper 16 bits of a float32 (same exponent range, 8-bit mantissa).
// float -> bfloat16 rounds to nearest, ties to even (NaN stays NaN); bfloat16 -> float is exact.
struct bfloat16 {
    uint16_t bits = 0;
    bfloat16() = default;
    explicit bfloat16(float f) : bits(round_bits(f)) {}
    explicit bfloat16(double d) : bfloat16(static_cast<float>(d)) {}
    explicit operator float() const {
        const uint32_t u = static_cast<uint32_t>(bits) << 16;
        float f;
        std::memcpy(&f, &u, 4);
        return f;
    }
    explicit operator double() const { return static_cast<double>(static_cast<float>(*this)); }
    static uint16_t round_bits(float f) {
        uint32_t u;
        std::memcpy(&u, &f, 4);
        if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
        u += 0x7fffu + ((u >> 16) & 1u);
        return static_cast<uint16_t>(u >> 16);
    }
};
static_assert(sizeof(bfloat16) == 2, "bfloat16 must be two bytes");

template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<bfloat16> { static constexpr DType value = DType::BFloat16; };

// Calls fn(T{}) with T the C++ type of a floating dtype; int64 is an error naming `op`.
template <typename Fn>
decltype(auto) dispatch_floating(DType t, const char* op, Fn&& fn) {
    switch (t) {
        case DType::Float32: return fn(float{});
        case DType::Float64: return fn(double{});
        default: break;
    }
    fail<DTypeError>(op, ": expected a floating tensor (float32 or float64), got ", dtype_name(t));
}

// Calls fn(T{}) for any dtype that arithmetic runs on; bfloat16 is an error.
template <typename Fn>
decltype(auto) dispatch_all(DType t, Fn&& fn) {
    switch (t) {
        case DType::Float32: return fn(float{});
        case DType::Float64: return fn(double{});
        case DType::Int64: return fn(int64_t{});
        case DType::BFloat16: break;
    }
    fail<DTypeError>("bfloat16 tensors hold bf16 inference activations only; convert with "
                     "to(DType::Float32) first");
}

// Calls fn(T{}) with T float, double or bfloat16: the element types copy_ converts between.
template <typename Fn>
decltype(auto) dispatch_real_storage(DType t, const char* op, Fn&& fn) {
    switch (t) {
        case DType::Float32: return fn(float{});
        case DType::Float64: return fn(double{});
        case DType::BFloat16: return fn(bfloat16{});
        default: break;
    }
    fail<DTypeError>(op, ": converts bfloat16 only to and from float32 or float64, got ",
                     dtype_name(t));
}

}  // namespace cardinal
