// The sizes of one 2-D convolution, shared by the reference kernels (ops/reference/) and the
// oneDNN path (ops/dnnl/) so that both take the same arguments and tests can compare them.
#pragma once
#include <cstdint>

#include "ops/conv.h"
#include "tensor/shape.h"

namespace cardinal {

// x [N, C, H, W], w [O, C/G, KH, KW], y [N, O, OH, OW]; every size already validated.
struct ConvGeometry {
    int64_t N = 0, C = 0, H = 0, W = 0;  // input
    int64_t O = 0, KH = 0, KW = 0;       // weight (plus C/G input channels per group)
    int64_t OH = 0, OW = 0;              // output
    int64_t G = 1;                       // groups
    int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
    // Activations (x, y and their gradients) are channels-last (NHWC) rather than NCHW. The
    // float32 path keeps the input's format; the float64 reference path is always NCHW.
    bool channels_last = false;

    int64_t cg() const { return C / G; }  // input channels per group
    int64_t og() const { return O / G; }  // output channels per group
    Shape input_shape() const { return {N, C, H, W}; }
    Shape weight_shape() const { return {O, C / G, KH, KW}; }
    Shape output_shape() const { return {N, O, OH, OW}; }
    // Multiply-adds times two of one forward pass (backward-data and -weights cost the same).
    double flops() const { return 2.0 * N * O * OH * OW * (C / G) * KH * KW; }
};

// Geometry of input shape x and weight shape w under params (no validation: conv.cpp does it).
inline ConvGeometry make_conv_geometry(const Shape& x, const Shape& w, const Conv2dParams& p) {
    ConvGeometry g;
    g.N = x[0], g.C = x[1], g.H = x[2], g.W = x[3];
    g.O = w[0], g.KH = w[2], g.KW = w[3];
    g.G = p.groups;
    g.sh = p.stride[0], g.sw = p.stride[1];
    g.ph = p.padding[0], g.pw = p.padding[1];
    g.dh = p.dilation[0], g.dw = p.dilation[1];
    g.OH = conv_output_size(g.H, g.KH, g.sh, g.ph, g.dh);
    g.OW = conv_output_size(g.W, g.KW, g.sw, g.pw, g.dw);
    return g;
}

}  // namespace cardinal
