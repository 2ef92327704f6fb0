// conv2d and rectified_conv2d (NCHW). Letters: N batch, C input channels, O output channels,
// G groups, Cg = C/G, Og = O/G, K = KH x KW kernel, s stride, p padding, d dilation.
//
// Forward:  y[n, o, oy, ox] = b[o] + sum_{c < Cg, kh, kw} w[o, c, kh, kw] * x[n, g*Cg + c, iy, ix]
//           g = o / Og,  iy = oy*s - p + kh*d,  ix = ox*s - p + kw*d  (x = 0 in the padding).
// Backward, with gy = dL/dy:
//   grad_x[n, g*Cg + c, iy, ix] = sum over the (o in group g, kh, kw, oy, ox) that read that
//                                 pixel of gy[n, o, oy, ox] * w[o, c, kh, kw]   (backward-data)
//   grad_w[o, c, kh, kw]        = sum_{n, oy, ox} gy[n, o, oy, ox] * x[n, g*Cg + c, iy, ix]
//                                                                              (backward-weights)
//   grad_b[o]                   = sum_{n, oy, ox} gy[n, o, oy, ox]
//
// Rectified conv (docs/seed-forms.md section 6.1): y_rect = y * f[oy, ox] with the bias inside y,
// where
//   f = num / count,  count[oy, ox] = ny(oy) * nx(ox) taps inside the unpadded input,
//   num = KH*KW (sum mode) or 1 (average mode).
// f is a constant, so dL/dy = gy * f and the three gradients above follow with that gy.
//
// float32 runs on oneDNN (ops/dnnl/conv_dnnl.h), float64 on the reference (ops/reference/).
// A float32 channels-last input gives a channels-last output, and its gradient is channels-last.
#include "ops/conv.h"
#include "ops/mac_counter.h"

#include <tuple>

#include "autograd/function.h"
#include "autograd/grad_mode.h"
#include "ops/conv_geometry.h"
#include "ops/dnnl/conv_dnnl.h"
#include "ops/dnnl/weight_cache.h"
#include "ops/reference/conv_reference.h"
#include "tensor/kernels.h"
#include "tensor/memory_format.h"
#include "tensor/parallel.h"

namespace cardinal {
namespace {

// ---- the three passes, dispatched on dtype ----
Tensor forward_pass(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeometry& g,
                    bool training) {
    if (x.dtype() == DType::Float32) return onednn::conv2d_forward(x, w, b, g, training);
    return reference::conv2d_forward(x, w, b, g);
}

Tensor backward_data(const Tensor& gy, const Tensor& w, const ConvGeometry& g) {
    if (gy.dtype() == DType::Float32) return onednn::conv2d_backward_data(gy, w, g);
    return reference::conv2d_backward_data(gy, w, g);
}

std::pair<Tensor, Tensor> backward_weights(const Tensor& gy, const Tensor& x,
                                           const ConvGeometry& g, bool with_bias) {
    if (gy.dtype() == DType::Float32) return onednn::conv2d_backward_weights(gy, x, g, with_bias);
    return reference::conv2d_backward_weights(gy, x, g, with_bias);
}

// y * f with f [OH, OW] broadcast over every (n, o) plane; y keeps its layout.
Tensor scale_planes(const Tensor& y, const Tensor& f) {
    return kernels::mul(y, f.reshape({1, 1, f.size(0), f.size(1)}));
}

// Taps of a kernel of `k` taps at output position `o` that land inside [0, in).
int64_t taps_inside(int64_t o, int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
    int64_t n = 0;
    for (int64_t i = 0; i < k; ++i) {
        const int64_t pos = o * s - p + i * d;
        n += pos >= 0 && pos < in;
    }
    return n;
}

// The rectify factor f[oy, ox] (see the top of the file), in the input's dtype.
Tensor rectify_factor(const ConvGeometry& g, bool average_mode, DType dtype) {
    std::vector<double> f(static_cast<size_t>(g.OH * g.OW));
    const double num = average_mode ? 1.0 : static_cast<double>(g.KH * g.KW);
    for (int64_t oy = 0; oy < g.OH; ++oy) {
        const int64_t ny = taps_inside(oy, g.H, g.KH, g.sh, g.ph, g.dh);
        for (int64_t ox = 0; ox < g.OW; ++ox) {
            const int64_t nx = taps_inside(ox, g.W, g.KW, g.sw, g.pw, g.dw);
            check<ValueError>(ny * nx > 0, "rectified_conv2d: output (", oy, ", ", ox,
                              ") has no kernel tap inside the ", g.H, "x", g.W,
                              " input (kernel ", g.KH, "x", g.KW, ", padding ", g.ph, "x", g.pw,
                              "), so its rectify factor is undefined");
            f[oy * g.OW + ox] = num / static_cast<double>(ny * nx);  // one IEEE division
        }
    }
    return from_vector(f, {g.OH, g.OW}, dtype);
}

struct Conv2dBackward : Node {
    Tensor saved_input_;   // for grad_weight
    Tensor saved_weight_;  // for grad_input
    Tensor saved_factor_;  // rectified conv only: dL/dy = grad * factor
    ConvGeometry geometry_;
    std::string name() const override { return "Conv2dBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
        Tensor gy = grads[0];
        if (saved_factor_.defined()) gy = scale_planes(gy, saved_factor_);
        Tensor grad_input, grad_weight, grad_bias;
        if (needs_input_grad(0)) grad_input = backward_data(gy, saved_weight_, geometry_);
        if (needs_input_grad(1)) {
            std::tie(grad_weight, grad_bias) =
                backward_weights(gy, saved_input_, geometry_, needs_input_grad(2));
        } else if (needs_input_grad(2)) {
            grad_bias = kernels::sum(gy, {0, 2, 3});
        }
        return {grad_input, grad_weight, grad_bias};
    }
    void release() override { saved_input_ = saved_weight_ = saved_factor_ = Tensor(); }
    size_t saved_bytes() const override {
        return saved_bytes_of(saved_input_) + saved_bytes_of(saved_weight_) +
               saved_bytes_of(saved_factor_);
    }
};

// Every check of the arguments, in the order a reader would make them.
// `bf16_input`: the input may be bfloat16 (inference only, ops/precision.h), with float32 weights.
ConvGeometry validate(const char* op, const Tensor& x, const Tensor& w, const Tensor& b,
                      const Conv2dParams& p, bool bf16_input = false) {
    check<ShapeError>(x.dim() == 4, op, ": expected input [N, C, H, W] (rank 4), got ",
                      shape_str(x.shape()));
    check<ShapeError>(w.dim() == 4, op, ": expected weight [O, C/groups, KH, KW] (rank 4), got ",
                      shape_str(w.shape()));
    const bool bf16 = bf16_input && x.dtype() == DType::BFloat16;
    check<DTypeError>(x.dtype() == DType::Float32 || x.dtype() == DType::Float64 || bf16, op,
                      ": input must be float32 or float64", bf16_input ? " (or bfloat16)" : "",
                      ", got ", dtype_name(x.dtype()));
    const DType compute = bf16 ? DType::Float32 : x.dtype();  // of the weights and bias
    check<DTypeError>(w.dtype() == compute, op, ": weight is ", dtype_name(w.dtype()),
                      " but input is ", dtype_name(x.dtype()));
    check<ValueError>(p.groups >= 1, op, ": groups must be >= 1, got ", p.groups);
    for (int i = 0; i < 2; ++i) {
        check<ValueError>(p.stride[i] >= 1, op, ": stride must be >= 1, got ", p.stride[0], "x",
                          p.stride[1]);
        check<ValueError>(p.dilation[i] >= 1, op, ": dilation must be >= 1, got ", p.dilation[0],
                          "x", p.dilation[1]);
        check<ValueError>(p.padding[i] >= 0, op, ": padding must be >= 0, got ", p.padding[0],
                          "x", p.padding[1]);
    }
    const int64_t C = x.size(1), O = w.size(0);
    check<ShapeError>(x.numel() > 0, op, ": input ", shape_str(x.shape()), " is empty");
    check<ShapeError>(w.numel() > 0, op, ": weight ", shape_str(w.shape()), " is empty");
    check<ShapeError>(C % p.groups == 0, op, ": input has ", C,
                      " channels, not divisible by groups=", p.groups);
    check<ShapeError>(O % p.groups == 0, op, ": weight has ", O,
                      " output channels, not divisible by groups=", p.groups);
    check<ShapeError>(w.size(1) * p.groups == C, op, ": input has ", C, " channels, weight expects ",
                      w.size(1) * p.groups, " (groups=", p.groups, ")");
    if (b.defined()) {
        check<DTypeError>(b.dtype() == compute, op, ": bias is ", dtype_name(b.dtype()),
                          " but input is ", dtype_name(x.dtype()));
        check<ShapeError>(b.dim() == 1 && b.size(0) == O, op, ": bias must have shape [", O,
                          "], got ", shape_str(b.shape()));
    }
    const int64_t eh = (w.size(2) - 1) * p.dilation[0] + 1, ew = (w.size(3) - 1) * p.dilation[1] + 1;
    const int64_t ih = x.size(2) + 2 * p.padding[0], iw = x.size(3) + 2 * p.padding[1];
    check<ShapeError>(eh <= ih && ew <= iw, op, ": kernel ", w.size(2), "x", w.size(3),
                      " (dilated extent ", eh, "x", ew, ") is larger than the padded input ", ih,
                      "x", iw);
    ConvGeometry g = make_conv_geometry(x.shape(), w.shape(), p);
    // float32 convolutions run channels-last unless the input is plainly NCHW. A tensor that is
    // both (C == 1, or H == W == 1) counts as channels-last: its bytes need no conversion, and a
    // one-channel stem (Fashion-MNIST) then starts the whole network NHWC, which measured 1.34x
    // faster per training step than NCHW with reorders at every convolution (docs/performance.md).
    g.channels_last = x.dtype() != DType::Float64 &&
                      (suggest_memory_format(x) == MemoryFormat::ChannelsLast || is_channels_last(x));
    return g;
}

// conv2d, optionally rectified by `factor` ([OH, OW], undefined for a plain conv).
Tensor conv2d_impl(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeometry& g,
                   const Tensor& factor) {
    MacCounter::add(static_cast<int64_t>(g.flops() / 2));
    auto node = make_node<Conv2dBackward>({x, w, b});
    // A weight being trained changes at the next step: its inference copies would only hold memory.
    if (node && node->needs_input_grad(1)) release_inference_copies(w);
    Tensor y = forward_pass(x, w, b, g, node != nullptr);
    if (factor.defined()) y = scale_planes(y, factor);
    if (node) {
        if (node->needs_input_grad(0)) node->saved_weight_ = node->save(w);
        if (node->needs_input_grad(1)) node->saved_input_ = node->save(x);
        node->saved_factor_ = factor;
        node->geometry_ = g;
        record(node, {y});
    }
    return y;
}

}  // namespace

int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                         bool ceil_mode) {
    check<ValueError>(kernel >= 1 && stride >= 1 && dilation >= 1 && pad >= 0,
                      "conv_output_size: need kernel, stride, dilation >= 1 and padding >= 0, got "
                      "kernel ", kernel, ", stride ", stride, ", dilation ", dilation, ", padding ",
                      pad);
    const int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;  // room left for strides
    check<ValueError>(span >= 0, "conv_output_size: window of extent ", dilation * (kernel - 1) + 1,
                      " does not fit input size ", in, " with padding ", pad);
    int64_t out = (span + (ceil_mode ? stride - 1 : 0)) / stride + 1;
    // PyTorch's rule: with ceil_mode the last window must start inside the input or left pad.
    if (ceil_mode && (out - 1) * stride >= in + pad) --out;
    return out;
}

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
              const Conv2dParams& params) {
    ConvGeometry g = validate("conv2d", input, weight, bias, params);
    return conv2d_impl(input, weight, bias, g, Tensor());
}

Tensor rectified_conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const Conv2dParams& params, bool average_mode) {
    ConvGeometry g = validate("rectified_conv2d", input, weight, bias, params);
    return conv2d_impl(input, weight, bias, g, rectify_factor(g, average_mode, input.dtype()));
}

namespace {

ConvGeometry validate_inference(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                const Conv2dParams& params, const Tensor& residual) {
    ConvGeometry g = validate("conv2d_inference", input, weight, bias, params, true);
    check<Error>(!grad_mode_enabled() ||
                     !(requires_grad(input) || requires_grad(weight) ||
                       (bias.defined() && requires_grad(bias)) ||
                       (residual.defined() && requires_grad(residual))),
                 "conv2d_inference: has no backward; an input requires a gradient (run it under "
                 "NoGradGuard, or use conv2d)");
    if (residual.defined()) {
        // float64 adds a float64 residual; the oneDNN path adds a float32 or bfloat16 one.
        const bool f64 = input.dtype() == DType::Float64;
        const bool dtype_ok = f64 ? residual.dtype() == DType::Float64
                                  : residual.dtype() == DType::Float32 ||
                                        residual.dtype() == DType::BFloat16;
        check<ShapeError>(residual.shape() == g.output_shape() && dtype_ok,
                          "conv2d_inference: residual ", describe(residual), " must be ",
                          f64 ? "float64 " : "float32 or bfloat16 ", shape_str(g.output_shape()));
    }
    MacCounter::add(static_cast<int64_t>(g.flops() / 2));
    return g;
}

Tensor reference_inference(const Tensor& input, const Tensor& weight, const Tensor& bias,
                           const ConvGeometry& g, const Tensor& residual, bool relu) {
    Tensor y = reference::conv2d_forward(input, weight, bias, g);
    if (residual.defined()) y = kernels::add(y, residual);
    return relu ? kernels::relu(y) : y;
}

}  // namespace

Tensor conv2d_inference(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const Conv2dParams& params, const Tensor& residual, bool relu) {
    const ConvGeometry g = validate_inference(input, weight, bias, params, residual);
    if (input.dtype() != DType::Float64)
        return onednn::conv2d_forward_fused(input, weight, bias, g, residual, relu);
    return reference_inference(input, weight, bias, g, residual, relu);
}

void release_inference_copies(const Tensor& weight_or_key) {
    if (weight_or_key.defined()) onednn::forget_weights(weight_or_key);
}

Tensor conv2d_inference(const Tensor& input, const DerivedWeight& weight, const Tensor& bias,
                        const Conv2dParams& params, const Tensor& residual, bool relu) {
    const ConvGeometry g = validate_inference(input, weight.like, bias, params, residual);
    if (input.dtype() != DType::Float64)
        return onednn::conv2d_forward_fused(weight.key, weight.make, input, bias, g, residual, relu);
    return reference_inference(input, weight.make(), bias, g, residual, relu);
}

}  // namespace cardinal
