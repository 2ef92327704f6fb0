// Windowed pooling of x [N, C, H, W] -> y [N, C, OH, OW], each (n, c) plane on its own.
//
//   max_pool2d: window of (oh, ow) = taps (oh*S - P + i*D, ow*S - P + j*D), i, j < K;
//               taps outside the input are -inf (never the maximum).
//               y = max over the window (the first maximum is the argmax; NaN propagates)
//               grad_x[argmax] += g
//   avg_pool2d: window rows [hs, he), hs = oh*S - P, he = min(hs + K, H + P) (the same for
//               columns), clipped to the input for the sum:
//               y = sum / divisor,  grad_x[window] += g / divisor
//               divisor = (he - hs)*(we - ws) when count_include_pad (padding zeros count; a
//               ragged ceil_mode window past the padded input is clipped), else the number of
//               in-bounds taps. This is PyTorch's rule exactly.
// Output size (PyTorch): OH = floor_or_ceil((H + 2P - D(K-1) - 1) / S) + 1; in ceil mode the
// last window must start inside the input or its left padding, else OH -= 1.
//
// Speed: loops run in parallel over the N*C planes. Inside a plane the loop order is
// output row -> tap row -> tap column -> output column, so the innermost loop is a
// branch-free, vectorisable sweep along an output row. A channels-last input (NHWC) keeps its
// layout: there the loops run over output pixels and taps, and the innermost, vectorised loop
// sweeps the C channels of one pixel (the `_cl` kernels).
#include "ops/pooling.h"

#include <limits>
#include <vector>

#include "autograd/function.h"
#include "ops/pool_common.h"
#include "ops/precision.h"
#include "tensor/memory_format.h"
#include "tensor/parallel.h"

namespace cardinal {
namespace pool_detail {

PoolDims check_input(const Tensor& x, const char* op) {
    check<Error>(x.defined(), op, ": the input is undefined");
    check<ShapeError>(x.dim() == 4, op, ": expected a 4-d input [N, C, H, W], got ",
                      shape_str(x.shape()));
    check<DTypeError>(is_floating(x.dtype()), op, ": expected a float32 or float64 input, got ",
                      dtype_name(x.dtype()));
    check<ShapeError>(x.size(2) > 0 && x.size(3) > 0, op, ": input has an empty plane ",
                      shape_str(x.shape()));
    check<ShapeError>(x.size(2) * x.size(3) <= std::numeric_limits<int32_t>::max(), op,
                      ": a plane of ", x.size(2), "x", x.size(3), " is too large");
    return {x.size(0) * x.size(1), x.size(2), x.size(3)};
}

namespace {

struct MaxPool2dBackward : Node {
    std::vector<int32_t> saved_argmax_;
    Shape x_shape_;
    bool channels_last_ = false;  // argmax and gradients in NHWC order
    const char* name_ = "MaxPool2dBackward";
    std::string name() const override { return name_; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override;
    void release() override { saved_argmax_ = {}; }
    size_t saved_bytes() const override { return saved_argmax_.size() * sizeof(int32_t); }
};

template <typename T>
Tensor max_backward(const MaxPool2dBackward& node, const Tensor& grad_y) {
    const Tensor g = grad_y.contiguous();
    const Shape& xs = node.x_shape_;
    const int64_t planes = xs[0] * xs[1], plane_in = xs[2] * xs[3];
    const int64_t plane_out = g.size(2) * g.size(3);
    Tensor gx = zeros(xs, g.dtype());
    const T* gp = g.data<T>();
    const int32_t* arg = node.saved_argmax_.data();
    T* dx = gx.data<T>();
#pragma omp parallel for schedule(static) if (planes * plane_in >= kParallelGrain)
    for (int64_t pl = 0; pl < planes; ++pl)
        for (int64_t o = pl * plane_out; o < (pl + 1) * plane_out; ++o)
            if (arg[o] >= 0) dx[pl * plane_in + arg[o]] += gp[o];
    return gx;
}

// Channels-last: argmax[(n*OH*OW + o)*C + c] is the pixel (h*W + w) of channel c's maximum.
// Images run in parallel; inside one image the scatter is serial, so no two threads add to
// the same element.
template <typename T>
Tensor max_backward_cl(const MaxPool2dBackward& node, const Tensor& grad_y) {
    const Tensor g = to_memory_format(grad_y, MemoryFormat::ChannelsLast);
    const Shape& xs = node.x_shape_;
    const int64_t N = xs[0], C = xs[1], HW = xs[2] * xs[3], OHW = g.size(2) * g.size(3);
    Tensor gx = empty(xs, g.dtype(), MemoryFormat::ChannelsLast);
    gx.zero_();
    const T* gp = g.data<T>();
    const int32_t* arg = node.saved_argmax_.data();
    T* dx = gx.data<T>();
#pragma omp parallel for schedule(static) if (N * HW * C >= kParallelGrain)
    for (int64_t n = 0; n < N; ++n)
        for (int64_t o = 0; o < OHW; ++o) {
            const int64_t row = (n * OHW + o) * C;
            for (int64_t c = 0; c < C; ++c)
                if (arg[row + c] >= 0) dx[(n * HW + arg[row + c]) * C + c] += gp[row + c];
        }
    return gx;
}

std::vector<Tensor> MaxPool2dBackward::apply(std::vector<Tensor>&& g) {
    if (channels_last_)
        return {dispatch_floating(g[0].dtype(), name_, [&](auto tag) {
            return max_backward_cl<decltype(tag)>(*this, g[0]);
        })};
    return {dispatch_floating(g[0].dtype(), name_,
                              [&](auto tag) { return max_backward<decltype(tag)>(*this, g[0]); })};
}

}  // namespace

void record_max_pool(const char* node_name, const Tensor& x, const Tensor& y,
                     std::vector<int32_t> argmax, bool channels_last) {
    if (auto node = make_node<MaxPool2dBackward>({x})) {
        node->saved_argmax_ = std::move(argmax);
        node->x_shape_ = x.shape();
        node->channels_last_ = channels_last;
        node->name_ = node_name;
        record(node, {y});
    }
}

}  // namespace pool_detail

namespace {

using pool_detail::PoolDims;

int64_t div_floor(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
    int64_t out = div_floor(in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0), s) + 1;
    if (ceil_mode && (out - 1) * s >= in + p) --out;
    return out;
}

// One axis of a pool: geometry, output size, and for each tap t the range [lo[t], hi[t]) of
// outputs whose tap t (at o*s - p + t*d) lies inside the input; for avg, each output's
// divisor factor.
struct Axis {
    int64_t in, out, k, s, p, d;
    std::vector<int64_t> lo, hi, count;
    int64_t pos(int64_t o, int64_t t) const { return o * s - p + t * d; }
};

// Calls tap(h, w) for every tap of output pixel (oh, ow) that lies inside the H x W input, in
// window order (the channels-last kernels sweep the C channels of each).
template <typename Tap>
void for_each_tap_inside(const Axis& rows, const Axis& cols, int64_t oh, int64_t ow, Tap&& tap) {
    for (int64_t i = 0; i < rows.k; ++i) {
        const int64_t h = rows.pos(oh, i);
        if (h < 0 || h >= rows.in) continue;
        for (int64_t j = 0; j < cols.k; ++j) {
            const int64_t w = cols.pos(ow, j);
            if (w >= 0 && w < cols.in) tap(h, w);
        }
    }
}

Axis make_axis(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode,
               bool count_include_pad) {
    Axis a{in, pooled_size(in, k, s, p, d, ceil_mode), k, s, p, d, {}, {}, {}};
    for (int64_t t = 0; t < k; ++t) {
        const int64_t off = t * d - p;  // position of tap t of output 0
        const int64_t lo = off < 0 ? (-off + s - 1) / s : 0;
        const int64_t hi = off >= in ? 0 : std::min(a.out, (in - off + s - 1) / s);
        a.lo.push_back(std::min(lo, std::max<int64_t>(hi, 0)));
        a.hi.push_back(std::max<int64_t>(hi, 0));
    }
    for (int64_t o = 0; o < a.out; ++o) {  // avg divisor factor (d == 1 for avg)
        const int64_t st = o * s - p, end = std::min(st + k, in + p);
        a.count.push_back(count_include_pad ? end - st
                                            : std::min(end, in) - std::max<int64_t>(st, 0));
    }
    return a;
}

// Validates the arguments of max/avg pooling; returns the two axes.
std::array<Axis, 2> make_axes(const char* op, const Tensor& x, Size2 kernel, Size2 stride,
                              Size2 padding, Size2 dilation, bool ceil_mode,
                              bool count_include_pad) {
    if (stride[0] == 0 && stride[1] == 0) stride = kernel;
    for (int a = 0; a < 2; ++a) {
        check<ValueError>(kernel[a] > 0, op, ": kernel size must be positive, got ", kernel[0], "x",
                          kernel[1]);
        check<ValueError>(stride[a] > 0, op, ": stride must be positive, got ", stride[0], "x",
                          stride[1]);
        check<ValueError>(dilation[a] > 0, op, ": dilation must be positive, got ", dilation[0],
                          "x", dilation[1]);
        check<ValueError>(padding[a] >= 0 && padding[a] <= kernel[a] / 2, op,
                          ": padding must be between 0 and half the kernel size, got padding ",
                          padding[0], "x", padding[1], " for kernel ", kernel[0], "x", kernel[1]);
    }
    std::array<Axis, 2> axes{make_axis(x.size(2), kernel[0], stride[0], padding[0], dilation[0],
                                       ceil_mode, count_include_pad),
                             make_axis(x.size(3), kernel[1], stride[1], padding[1], dilation[1],
                                       ceil_mode, count_include_pad)};
    check<ShapeError>(axes[0].out >= 1 && axes[1].out >= 1, op, ": input ", shape_str(x.shape()),
                      " gives output size ", axes[0].out, "x", axes[1].out, " with kernel ",
                      kernel[0], "x", kernel[1], ", stride ", stride[0], "x", stride[1],
                      ", padding ", padding[0], "x", padding[1], ", dilation ", dilation[0], "x",
                      dilation[1], "; output too small");
    return axes;
}

// ---- max ----

template <typename T>
Tensor max_forward(const Tensor& x, const PoolDims& dm, const Axis& rows, const Axis& cols,
                   std::vector<int32_t>& argmax) {
    const int64_t OH = rows.out, OW = cols.out, W = dm.W;
    Tensor y = empty({x.size(0), x.size(1), OH, OW}, x.dtype());
    argmax.resize(dm.planes * OH * OW);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    int32_t* ap = argmax.data();
#pragma omp parallel for schedule(static) if (dm.planes * dm.H * W >= kParallelGrain)
    for (int64_t pl = 0; pl < dm.planes; ++pl) {
        const T* in = xp + pl * dm.H * W;
        for (int64_t oh = 0; oh < OH; ++oh) {
            T* best = yp + (pl * OH + oh) * OW;
            int32_t* arg = ap + (pl * OH + oh) * OW;
            for (int64_t ow = 0; ow < OW; ++ow) {
                best[ow] = -std::numeric_limits<T>::infinity();
                arg[ow] = -1;
            }
            for (int64_t i = 0; i < rows.k; ++i) {
                const int64_t h = rows.pos(oh, i);
                if (h < 0 || h >= dm.H) continue;
                for (int64_t j = 0; j < cols.k; ++j) {
                    const int64_t base = h * W + cols.pos(0, j);  // + ow*s
#pragma omp simd
                    for (int64_t ow = cols.lo[j]; ow < cols.hi[j]; ++ow) {
                        const T v = in[base + ow * cols.s];
                        // Taps are visited in window order, so ">" keeps the first maximum.
                        const bool take = v > best[ow] || v != v || arg[ow] < 0;
                        best[ow] = take ? v : best[ow];
                        arg[ow] = take ? static_cast<int32_t>(base + ow * cols.s) : arg[ow];
                    }
                }
            }
        }
    }
    return y;
}

// Channels-last max: for each output pixel, the taps inside the input in window order, each a
// sweep over the C channels (">" keeps the first maximum; NaN propagates).
template <typename T>
Tensor max_forward_cl(const Tensor& x, const PoolDims& dm, const Axis& rows, const Axis& cols,
                      std::vector<int32_t>& argmax) {
    const int64_t N = x.size(0), C = x.size(1), OH = rows.out, OW = cols.out, W = dm.W;
    Tensor y = empty({N, C, OH, OW}, x.dtype(), MemoryFormat::ChannelsLast);
    argmax.resize(N * OH * OW * C);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    int32_t* ap = argmax.data();
#pragma omp parallel for collapse(2) schedule(static) if (N * dm.H * W * C >= kParallelGrain)
    for (int64_t n = 0; n < N; ++n)
        for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
                T* best = yp + ((n * OH + oh) * OW + ow) * C;
                int32_t* arg = ap + ((n * OH + oh) * OW + ow) * C;
                for (int64_t c = 0; c < C; ++c) {
                    best[c] = -std::numeric_limits<T>::infinity();
                    arg[c] = -1;
                }
                for_each_tap_inside(rows, cols, oh, ow, [&](int64_t h, int64_t w) {
                    const int32_t pix = static_cast<int32_t>(h * W + w);
                    const T* in = xp + ((n * dm.H + h) * W + w) * C;
#pragma omp simd
                    for (int64_t c = 0; c < C; ++c) {
                        const T v = in[c];
                        const bool take = v > best[c] || v != v || arg[c] < 0;
                        best[c] = take ? v : best[c];
                        arg[c] = take ? pix : arg[c];
                    }
                });
            }
    return y;
}

// ---- average ----

struct AvgPool2dBackward : Node {
    Axis rows_, cols_;
    Shape x_shape_;
    bool channels_last_ = false;
    std::string name() const override { return "AvgPool2dBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override;
};

template <typename T>
Tensor avg_forward(const Tensor& x, const PoolDims& dm, const Axis& rows, const Axis& cols) {
    const int64_t OH = rows.out, OW = cols.out, W = dm.W;
    Tensor y = empty({x.size(0), x.size(1), OH, OW}, x.dtype());
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
#pragma omp parallel for schedule(static) if (dm.planes * dm.H * W >= kParallelGrain)
    for (int64_t pl = 0; pl < dm.planes; ++pl) {
        const T* in = xp + pl * dm.H * W;
        for (int64_t oh = 0; oh < OH; ++oh) {
            T* out = yp + (pl * OH + oh) * OW;
            for (int64_t ow = 0; ow < OW; ++ow) out[ow] = 0;
            for (int64_t i = 0; i < rows.k; ++i) {
                const int64_t h = rows.pos(oh, i);
                if (h < 0 || h >= dm.H) continue;
                for (int64_t j = 0; j < cols.k; ++j) {
                    const T* row = in + h * W + cols.pos(0, j);
#pragma omp simd
                    for (int64_t ow = cols.lo[j]; ow < cols.hi[j]; ++ow)
                        out[ow] += row[ow * cols.s];
                }
            }
            const T rc = static_cast<T>(rows.count[oh]);
#pragma omp simd
            for (int64_t ow = 0; ow < OW; ++ow) out[ow] /= rc * static_cast<T>(cols.count[ow]);
        }
    }
    return y;
}

// Channels-last average: each output pixel sums its in-bounds taps, a sweep over C each.
template <typename T>
Tensor avg_forward_cl(const Tensor& x, const PoolDims& dm, const Axis& rows, const Axis& cols) {
    const int64_t N = x.size(0), C = x.size(1), OH = rows.out, OW = cols.out, W = dm.W;
    Tensor y = empty({N, C, OH, OW}, x.dtype(), MemoryFormat::ChannelsLast);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
#pragma omp parallel for collapse(2) schedule(static) if (N * dm.H * W * C >= kParallelGrain)
    for (int64_t n = 0; n < N; ++n)
        for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
                T* out = yp + ((n * OH + oh) * OW + ow) * C;
                for (int64_t c = 0; c < C; ++c) out[c] = 0;
                for_each_tap_inside(rows, cols, oh, ow, [&](int64_t h, int64_t w) {
                    const T* in = xp + ((n * dm.H + h) * W + w) * C;
#pragma omp simd
                    for (int64_t c = 0; c < C; ++c) out[c] += in[c];
                });
                const T inv = T(1) / (static_cast<T>(rows.count[oh]) * static_cast<T>(cols.count[ow]));
#pragma omp simd
                for (int64_t c = 0; c < C; ++c) out[c] *= inv;
            }
    return y;
}

// Channels-last average backward: every in-bounds tap of output pixel o receives g[o] / divisor.
// Images run in parallel; within an image the adds are serial (overlapping windows share taps).
template <typename T>
Tensor avg_backward_cl(const AvgPool2dBackward& node, const Tensor& grad_y) {
    const Tensor g = to_memory_format(grad_y, MemoryFormat::ChannelsLast);
    const Axis &rows = node.rows_, &cols = node.cols_;
    const int64_t N = node.x_shape_[0], C = node.x_shape_[1], H = rows.in, W = cols.in;
    const int64_t OH = rows.out, OW = cols.out;
    Tensor gx = empty(node.x_shape_, g.dtype(), MemoryFormat::ChannelsLast);
    gx.zero_();
    const T* gp = g.data<T>();
    T* dx = gx.data<T>();
#pragma omp parallel for schedule(static) if (N * H * W * C >= kParallelGrain)
    for (int64_t n = 0; n < N; ++n)
        for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
                const T* go = gp + ((n * OH + oh) * OW + ow) * C;
                const T inv = T(1) / (static_cast<T>(rows.count[oh]) * static_cast<T>(cols.count[ow]));
                for_each_tap_inside(rows, cols, oh, ow, [&](int64_t h, int64_t w) {
                    T* d = dx + ((n * H + h) * W + w) * C;
#pragma omp simd
                    for (int64_t c = 0; c < C; ++c) d[c] += go[c] * inv;
                });
            }
    return gx;
}

template <typename T>
Tensor avg_backward(const AvgPool2dBackward& node, const Tensor& grad_y) {
    const Tensor g = grad_y.contiguous();
    const Axis &rows = node.rows_, &cols = node.cols_;
    const int64_t planes = node.x_shape_[0] * node.x_shape_[1], H = rows.in, W = cols.in;
    const int64_t OH = rows.out, OW = cols.out;
    Tensor gx = zeros(node.x_shape_, g.dtype());
    const T* gp = g.data<T>();
    T* dx = gx.data<T>();
#pragma omp parallel for schedule(static) if (planes * H * W >= kParallelGrain)
    for (int64_t pl = 0; pl < planes; ++pl) {
        std::vector<T> share(OW);  // g / divisor along one output row
        T* d = dx + pl * H * W;
        for (int64_t oh = 0; oh < OH; ++oh) {
            const T* go = gp + (pl * OH + oh) * OW;
            const T rc = static_cast<T>(rows.count[oh]);
            for (int64_t ow = 0; ow < OW; ++ow)
                share[ow] = go[ow] / (rc * static_cast<T>(cols.count[ow]));
            for (int64_t i = 0; i < rows.k; ++i) {
                const int64_t h = rows.pos(oh, i);
                if (h < 0 || h >= H) continue;
                for (int64_t j = 0; j < cols.k; ++j) {
                    T* row = d + h * W + cols.pos(0, j);
#pragma omp simd  // distinct ow hit distinct columns: no conflicts
                    for (int64_t ow = cols.lo[j]; ow < cols.hi[j]; ++ow)
                        row[ow * cols.s] += share[ow];
                }
            }
        }
    }
    return gx;
}

std::vector<Tensor> AvgPool2dBackward::apply(std::vector<Tensor>&& g) {
    return {dispatch_floating(g[0].dtype(), "avg_pool2d backward", [&](auto tag) {
        return channels_last_ ? avg_backward_cl<decltype(tag)>(*this, g[0])
                              : avg_backward<decltype(tag)>(*this, g[0]);
    })};
}

}  // namespace

Tensor max_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation,
                  bool ceil_mode) {
    // A bf16 activation (bf16 inference, ops/precision.h) is pooled in float32.
    if (x.defined() && x.dtype() == DType::BFloat16)
        return max_pool2d(float32_activation(x), kernel, stride, padding, dilation, ceil_mode);
    const PoolDims dm = pool_detail::check_input(x, "max_pool2d");
    // Named variables, not a structured binding: clang before 16 cannot capture those in the
    // lambda below (the fuzz build, scripts/fuzz.sh, uses clang 14).
    const auto axes = make_axes("max_pool2d", x, kernel, stride, padding, dilation, ceil_mode, true);
    const Axis& rows = axes[0];
    const Axis& cols = axes[1];
    const Tensor xc = to_memory_format(x, suggest_memory_format(x));
    const bool cl = memory_format_of(xc) == MemoryFormat::ChannelsLast;
    std::vector<int32_t> argmax;
    Tensor y = dispatch_floating(x.dtype(), "max_pool2d", [&](auto tag) {
        using T = decltype(tag);
        return cl ? max_forward_cl<T>(xc, dm, rows, cols, argmax)
                  : max_forward<T>(xc, dm, rows, cols, argmax);
    });
    pool_detail::record_max_pool("MaxPool2dBackward", x, y, std::move(argmax), cl);
    return y;
}

Tensor avg_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, bool ceil_mode,
                  bool count_include_pad) {
    if (x.defined() && x.dtype() == DType::BFloat16)  // bf16 inference: pooled in float32
        return avg_pool2d(float32_activation(x), kernel, stride, padding, ceil_mode,
                          count_include_pad);
    const PoolDims dm = pool_detail::check_input(x, "avg_pool2d");
    // Named variables, not a structured binding: clang before 16 cannot capture those in the
    // lambda below (the fuzz build, scripts/fuzz.sh, uses clang 14).
    const auto axes = make_axes("avg_pool2d", x, kernel, stride, padding, {1, 1}, ceil_mode, count_include_pad);
    const Axis& rows = axes[0];
    const Axis& cols = axes[1];
    const Tensor xc = to_memory_format(x, suggest_memory_format(x));
    const bool cl = memory_format_of(xc) == MemoryFormat::ChannelsLast;
    Tensor y = dispatch_floating(x.dtype(), "avg_pool2d", [&](auto tag) {
        using T = decltype(tag);
        return cl ? avg_forward_cl<T>(xc, dm, rows, cols) : avg_forward<T>(xc, dm, rows, cols);
    });
    if (auto node = make_node<AvgPool2dBackward>({x})) {
        node->channels_last_ = cl;
        node->rows_ = std::move(rows);
        node->cols_ = std::move(cols);
        node->x_shape_ = x.shape();
        record(node, {y});
    }
    return y;
}

}  // namespace cardinal
