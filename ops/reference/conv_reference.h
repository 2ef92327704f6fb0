// Reference 2-D convolution: im2col + GEMM per (image, group), in plain C++ and Eigen.
// It is the ground truth the oneDNN path is tested against, and the float64 path of conv2d.
// Same Tensor-level signatures as ops/dnnl/conv_dnnl.h.
#pragma once
#include <utility>

#include "ops/conv_geometry.h"
#include "tensor/tensor.h"

namespace cardinal::reference {

// y[n, o, oy, ox] = b[o] + sum_{c, kh, kw} x[n, g*C/G + c, iy, ix] * w[o, c, kh, kw]
//   with g = o / (O/G), iy = oy*sh - ph + kh*dh, ix = ox*sw - pw + kw*dw (zero outside).
// x, w contiguous float32 or float64; b undefined or [O].
Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeometry& g);

// grad_x = d(sum grad_y * y)/dx: every output tap scatters grad_y * w back to its input pixel.
Tensor conv2d_backward_data(const Tensor& grad_y, const Tensor& w, const ConvGeometry& g);

// {grad_w, grad_b}: grad_w[o, c, kh, kw] = sum_{n, oy, ox} grad_y[n, o, oy, ox] * x[n, ., iy, ix],
// grad_b[o] = sum_{n, oy, ox} grad_y[n, o, oy, ox] (undefined unless with_bias).
std::pair<Tensor, Tensor> conv2d_backward_weights(const Tensor& grad_y, const Tensor& x,
                                                  const ConvGeometry& g, bool with_bias);

// Pointer-level kernels behind the above (T = float or double, all buffers contiguous).
template <typename T>
void conv2d_forward(const T* x, const T* w, const T* b, T* y, const ConvGeometry& g);
template <typename T>
void conv2d_backward_data(const T* grad_y, const T* w, T* grad_x, const ConvGeometry& g);
template <typename T>
void conv2d_backward_weights(const T* grad_y, const T* x, T* grad_w, T* grad_b,
                             const ConvGeometry& g);

}  // namespace cardinal::reference
