// Shapes and strides: plain vectors of int64, with the arithmetic every layer needs.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace cardinal {

using Shape = std::vector<int64_t>;

// "[2, 3, 4]"
std::string shape_str(const Shape& s);

// Product of the sizes; throws ValueError on a negative size or int64 overflow.
int64_t shape_numel(const Shape& s);

// Row-major (C-contiguous) strides in elements.
Shape contiguous_strides(const Shape& s);

// NumPy broadcasting of two shapes; `op` names the caller in the error message.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// Normalises a possibly negative dim against rank `ndim` (dim in [-ndim, ndim)).
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

}  // namespace cardinal
