// Differentiable views and joins. Each is a view (no copy) where tensor/ allows one; the
// backward maps the gradient back onto the input's shape.
#pragma once
#include <vector>

#include "tensor/memory_format.h"
#include "tensor/tensor.h"

namespace cardinal {

Tensor reshape(const Tensor& x, const Shape& shape);  // a view when strides allow
Tensor view(const Tensor& x, const Shape& shape);     // must be a view
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim);
Tensor expand(const Tensor& x, const Shape& shape);
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
// A contiguous copy (identity for gradients).
Tensor contiguous(const Tensor& x);
// x in memory format `format` (a copy only when it is not already); identity for gradients.
Tensor contiguous(const Tensor& x, MemoryFormat format);

}  // namespace cardinal
