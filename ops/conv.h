// 2-D convolution (NCHW) and ResNeSt's rectified convolution.
//
// float32 runs on oneDNN (ops/dnnl/), float64 on the reference path (ops/reference/); both
// have forward, backward-data, backward-weights and bias gradients.
#pragma once
#include <array>
#include <functional>

#include "tensor/tensor.h"

namespace cardinal {

struct Conv2dParams {
    std::array<int64_t, 2> stride{1, 1};
    std::array<int64_t, 2> padding{0, 0};
    std::array<int64_t, 2> dilation{1, 1};
    int64_t groups = 1;
};

// input [N, C, H, W], weight [O, C/groups, KH, KW], bias [O] or undefined -> [N, O, H', W'],
// H' = floor((H + 2*pad - dil*(KH-1) - 1) / stride) + 1.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
              const Conv2dParams& params = {});

// Rectified convolution (RFConv2d, docs/seed-forms.md section 6.1): conv2d whose outputs near the
// border
// are rescaled by how many kernel taps fell inside the unpadded input. average_mode is
// rectify_avg. The bias is inside the rescaling: (conv + b) * factor. It always rescales, also
// with padding 0 (where the average mode divides every output by KH*KW): SplAtConv2d builds it
// only when padding > 0. Throws ValueError if some output sees no input pixel (e.g. 1x1, pad 1).
Tensor rectified_conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const Conv2dParams& params, bool average_mode);

// Output spatial size of a convolution or pooling window (throws on non-positive results).
int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                         bool ceil_mode = false);

// Inference only (records no graph; refused when an input requires a gradient and grad mode
// is on): relu?(conv2d(input, weight, bias) + residual?) in one pass. float32 runs the add and
// the ReLU as oneDNN post-ops inside the convolution; float64 composes the plain ops. `residual`
// may be undefined; otherwise it has the output's shape.
Tensor conv2d_inference(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const Conv2dParams& params, const Tensor& residual, bool relu);

// A weight computed from others on demand (a convolution's weights with a BatchNorm folded in,
// nn/layers/conv_bn_fold.h). Why: the float32 convolution keeps the weight reordered into its
// primitive's layout anyway, so holding the plain derived weight beside that copy and beside
// the parameters it came from would be a third copy of every weight of an inference network.
// `make` returns the values (contiguous, shape and dtype of `like`); `key`'s storage version
// names them: the owner bumps it whenever make() would return something else.
struct DerivedWeight {
    Tensor like;
    Tensor key;
    std::function<Tensor()> make;
};

// Drops the copies conv2d_inference keeps of a weight (or of a DerivedWeight, given its key). For
// weights about to be trained: conv2d does it itself for a weight that will get a gradient.
void release_inference_copies(const Tensor& weight_or_key);

// conv2d_inference with a derived weight: float32 calls make() only when its cached copy is
// missing or stale; float64 calls it every time (the reference path keeps nothing).
Tensor conv2d_inference(const Tensor& input, const DerivedWeight& weight, const Tensor& bias,
                        const Conv2dParams& params, const Tensor& residual, bool relu);

}  // namespace cardinal
