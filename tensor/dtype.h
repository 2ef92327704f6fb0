// Element types a tensor can hold. float32 is the fast path (oneDNN), float64 the reference
// path (gradcheck, fixtures), int64 holds labels and counters.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "tensor/error.h"

namespace cardinal {

enum class DType : uint8_t { Float32, Float64, Int64 };

constexpr size_t dtype_size(DType t) { return t == DType::Float32 ? 4 : 8; }

inline const char* dtype_name(DType t) {
    switch (t) {
        case DType::Float32: return "float32";
        case DType::Float64: return "float64";
        case DType::Int64: return "int64";
    }
    return "?";
}

inline bool is_floating(DType t) { return t != DType::Int64; }

template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };

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

// Calls fn(T{}) for any dtype.
template <typename Fn>
decltype(auto) dispatch_all(DType t, Fn&& fn) {
    switch (t) {
        case DType::Float32: return fn(float{});
        case DType::Float64: return fn(double{});
        case DType::Int64: return fn(int64_t{});
    }
    fail<DTypeError>("unknown dtype");
}

}  // namespace cardinal
