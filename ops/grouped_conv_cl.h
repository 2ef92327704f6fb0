// Grouped convolutions with few channels per group on channels-last float32 maps: our own
// AVX-512 kernels for the 4- and 8-channel groups of every ResNeXt's layer1 and layer2 (32 groups
// of 4 or 8 channels), the passes oneDNN 2.6 runs slowest (docs/performance.md, "Grouped
// convolutions of 4 and 8 channels per group").
//
// Why they can be fast: a 16-float vector of one pixel's channels holds 16/cg whole groups. For
// input channel i of every group at once, one in-register permutation spreads x[g*cg + i] over
// the cg lanes of its group; a fused multiply-add with a weight vector whose lane g*cg + o holds
// w[g*cg + o][i] then adds that input's share to all 16 outputs. cg permutations and cg FMAs per
// tap give 16 outputs, with no padding of the channels to 16 per group (what oneDNN's blocked
// kernels do: 4x the work at 4 channels) and no im2col.
//
//   forward           y[p][g*cg+o]  = b + sum_{tap, i} x[p + tap][g*cg+i] * w[g*cg+o][i][tap]
//   backward-data     dx[q][g*cg+i] = sum_{tap, o} dy[p(q, tap)][g*cg+o] * w[g*cg+o][i][tap]
//                     (p(q, tap): the output pixel that reads q through tap, when there is one)
//   backward-weights  dw[g*cg+o][i][tap] = sum_p dy[p][g*cg+o] * x[p + tap][g*cg+i]
//
// Backward-weights sums the pixels in a fixed number of chunks, added in chunk order, so the
// result does not depend on the thread count.
#pragma once
#include "ops/conv_geometry.h"

namespace cardinal::grouped_conv_cl {

// Whether these kernels handle g: channels-last, more than one group, the same 4 or 8 channels
// per group in and out, a multiple of 16 channels, and a build for a CPU with AVX-512.
bool supports(const ConvGeometry& g);

// All pointers dense: x [N, H, W, C], y [N, OH, OW, O] (channels-last bytes), w [O, C/G, KH, KW];
// b and grad_b may be null. Callers check supports(g) first. The forward's optional epilogue (the
// inference post-ops): y += residual (same layout as y, may be null), then y = max(y, 0).
void forward(const float* x, const float* w, const float* b, float* y, const ConvGeometry& g,
             const float* residual = nullptr, bool relu = false);
void backward_data(const float* grad_y, const float* w, float* grad_x, const ConvGeometry& g);
void backward_weights(const float* grad_y, const float* x, float* grad_w, float* grad_b,
                      const ConvGeometry& g);

}  // namespace cardinal::grouped_conv_cl
