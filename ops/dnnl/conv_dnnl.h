// float32 convolution on oneDNN: forward, backward-data, backward-weights. Same Tensor-level
// signatures as ops/reference/conv_reference.h; conv2d (ops/conv.cpp) calls these for float32.
//
// Our tensors are plain NCHW (abcd) with oihw / goihw weights. Each pass either runs on those
// directly (Plain), or lets oneDNN pick its blocked layouts (format_tag::any) and reorders in and
// out (Blocked), or reorders activations to NHWC with weights `any` (ChannelsLast), or skips
// oneDNN's convolution and runs im2col + dnnl_sgemm per image on NCHW (Gemm, conv_gemm.h), or
// runs our own channels-last kernels for 4- and 8-channel groups (Grouped, ops/grouped_conv_cl.h).
// choose_layout() picks per pass from measurements (docs/performance.md).
#pragma once
#include <functional>
#include <string>
#include <utility>

#include "ops/conv_geometry.h"
#include "tensor/tensor.h"

namespace cardinal::onednn {

enum class ConvPass { Forward, BackwardData, BackwardWeights };
enum class ConvLayout { Auto, Plain, Blocked, ChannelsLast, Gemm, Grouped };

// The layout Auto resolves to for this convolution and pass.
ConvLayout choose_layout(const ConvGeometry& g, ConvPass pass);

// training selects prop_kind::forward_training (needed before a backward pass) over
// forward_inference. x, w, b float32 (b may be undefined).
Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeometry& g,
                      bool training = false, ConvLayout layout = ConvLayout::Auto);
Tensor conv2d_backward_data(const Tensor& grad_y, const Tensor& w, const ConvGeometry& g,
                            ConvLayout layout = ConvLayout::Auto);
// {grad_w, grad_b}; grad_b undefined unless with_bias.
std::pair<Tensor, Tensor> conv2d_backward_weights(const Tensor& grad_y, const Tensor& x,
                                                  const ConvGeometry& g, bool with_bias,
                                                  ConvLayout layout = ConvLayout::Auto);

// Inference only (no backward): y = conv(x, w) + b, then + residual when given, then ReLU when
// relu, with the add and the ReLU run as oneDNN post-ops inside the convolution (one pass over
// y instead of three). residual has the output's shape; x, w, b, residual float32.
Tensor conv2d_forward_fused(const Tensor& x, const Tensor& w, const Tensor& b,
                           const ConvGeometry& g, const Tensor& residual, bool relu);
// The same with the weight made on demand (ops/conv.h, DerivedWeight): make_weight() returns it
// (float32, contiguous) only when the copy in the primitive's layout, cached under weight_key's
// storage version, is missing or stale; only that copy is kept.
Tensor conv2d_forward_fused(const Tensor& weight_key, const std::function<Tensor()>& make_weight,
                           const Tensor& x, const Tensor& b, const ConvGeometry& g,
                           const Tensor& residual, bool relu);

// oneDNN's name of the implementation a pass runs ("jit:avx512_core", "x64:gemm:jit", ...).
std::string conv_impl_info(const ConvGeometry& g, ConvPass pass, ConvLayout layout);

// Drops every cached convolution primitive (tests and benchmarks use it for cold starts).
void clear_conv_cache();

}  // namespace cardinal::onednn
