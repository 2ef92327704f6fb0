// Plain tensor math (not recorded for backward). ops/ builds the differentiable functions on
// these, for both forward and backward. Binary functions broadcast like NumPy and require
// both operands to have the same dtype. Results are new contiguous tensors unless the name
// ends in '_' (in place).
#pragma once
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace cardinal::kernels {

// ---- elementwise, binary (broadcasting) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
// 1 where a > b, else 0 (dtype of a)
Tensor greater(const Tensor& a, const Tensor& b);

// ---- elementwise with a scalar ----
Tensor add_scalar(const Tensor& a, double s);
Tensor mul_scalar(const Tensor& a, double s);
Tensor pow_scalar(const Tensor& a, double exponent);
Tensor greater_scalar(const Tensor& a, double s);  // 1 where a > s, else 0

// ---- elementwise, unary ----
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor abs(const Tensor& a);
Tensor relu(const Tensor& a);
Tensor sigmoid(const Tensor& a);
Tensor tanh(const Tensor& a);

// ---- in place ----
// dst += alpha * src (src broadcastable to dst)
void add_(const Tensor& dst, const Tensor& src, double alpha = 1.0);
// dst *= s
void mul_scalar_(const Tensor& dst, double s);

// ---- reductions; empty dims means all dims ----
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Variance with `correction` (0 biased, 1 unbiased) over dims.
Tensor var(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false,
           int64_t correction = 1);
// Max over one dim: values and int64 indices (the first maximum wins).
std::pair<Tensor, Tensor> max(const Tensor& a, int64_t dim, bool keepdim = false);
Tensor max_all(const Tensor& a);  // 0-d
// Index of the max along dim (int64).
Tensor argmax(const Tensor& a, int64_t dim, bool keepdim = false);
// Sums `a` down to `shape` (the inverse of broadcasting `shape` to a.shape()).
Tensor sum_to(const Tensor& a, const Shape& shape);

// ---- indexing along one dim (index is int64, same rank as the data) ----
// out[..., j, ...] = a[..., index[..., j, ...], ...] along `dim`; index may differ from a only
// in `dim`, and out has index's shape (as torch.gather).
Tensor gather(const Tensor& a, int64_t dim, const Tensor& index);
// The adjoint of gather: zeros of `shape` (src's dtype) with src[..., j, ...] added at
// [..., index[..., j, ...], ...] along `dim` (repeated indices accumulate).
Tensor scatter_add(const Shape& shape, int64_t dim, const Tensor& index, const Tensor& src);

// ---- linear algebra (Eigen) ----
// [M,K] x [K,N] -> [M,N]; batched [B,M,K] x [B,K,N] -> [B,M,N] (either batch dim may broadcast).
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- joining ----
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);

// True if any element is NaN or +-Inf.
bool has_nonfinite(const Tensor& a);

}  // namespace cardinal::kernels
