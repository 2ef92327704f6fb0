// Pooling over the H*W plane of each (n, c) of x [N, C, H, W] -> y [N, C, OH, OW].
//
// Every pool is a set of windows per axis; a 2-d window is (rows of window oh) x (cols of ow).
//   max_pool2d:  rows hs + i*d, i = 0..K-1, hs = oh*S - P, out-of-range taps are -inf.
//                y = max over the window, argmax saved;       grad_x[argmax] += g
//   avg_pool2d:  rows [hs, min(hs + K, H + P)) clipped to [0, H);
//                y = sum over the clipped window / divisor;   grad_x[window] += g / divisor
//                divisor = rows*cols of the window clipped to the padded input
//                (count_include_pad) or of the window clipped to the input (else),
//                exactly PyTorch's rule, also for the ragged last window of ceil_mode.
//   adaptive:    rows [floor(oh*H/OH), ceil((oh+1)*H/OH)), the same max / mean as above.
//   global_avg_pool2d: y = (1/(H*W)) sum over the plane;    grad_x = g / (H*W)
// Output size (PyTorch): OH = floor_or_ceil((H + 2P - D(K-1) - 1) / S) + 1, and in ceil mode
// the last window must start inside the input or its left padding, else OH -= 1.
// Planes are independent, so every loop runs in parallel over the N*C planes.
#include "ops/pooling.h"

#include <cmath>
#include <limits>
#include <vector>

#include "autograd/function.h"
#include "tensor/parallel.h"

namespace cardinal {
namespace {

// Windows along one axis: output o reads input positions start[o] + i*dil for i in [lo, hi).
struct AxisWindows {
    std::vector<int64_t> start, lo, hi;
    std::vector<int64_t> count;  // avg: this axis's factor of the divisor
    int64_t dil = 1;
    int64_t size() const { return static_cast<int64_t>(start.size()); }
};

struct Dims {
    int64_t planes, H, W;
};

Dims check_input(const Tensor& x, const char* op) {
    check<Error>(x.defined(), op, ": the input is undefined");
    check<ShapeError>(x.dim() == 4, op, ": expected a 4-d input [N, C, H, W], got ", shape_str(x.shape()));
    check<DTypeError>(is_floating(x.dtype()), op, ": expected a float32 or float64 input, got ",
                      dtype_name(x.dtype()));
    check<ShapeError>(x.size(2) > 0 && x.size(3) > 0, op, ": input has an empty plane ",
                      shape_str(x.shape()));
    return {x.size(0) * x.size(1), x.size(2), x.size(3)};
}

int64_t div_floor(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
    int64_t out = div_floor(in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0), s) + 1;
    if (ceil_mode && (out - 1) * s >= in + p) --out;
    return out;
}

// Validates the arguments of max/avg pooling and fills the stride default.
void check_args(const char* op, const Tensor& x, Size2 kernel, Size2& stride, Size2 padding,
                Size2 dilation) {
    if (stride[0] == 0 && stride[1] == 0) stride = kernel;
    for (int a = 0; a < 2; ++a) {
        check<ValueError>(kernel[a] > 0, op, ": kernel size must be positive, got ", kernel[0], "x",
                          kernel[1]);
        check<ValueError>(stride[a] > 0, op, ": stride must be positive, got ", stride[0], "x",
                          stride[1]);
        check<ValueError>(dilation[a] > 0, op, ": dilation must be positive, got ", dilation[0], "x",
                          dilation[1]);
        check<ValueError>(padding[a] >= 0 && padding[a] <= kernel[a] / 2, op,
                          ": padding must be between 0 and half the kernel size, got padding ",
                          padding[0], "x", padding[1], " for kernel ", kernel[0], "x", kernel[1]);
    }
}

Size2 output_size(const char* op, const Tensor& x, Size2 k, Size2 s, Size2 p, Size2 d, bool ceil) {
    Size2 out{pooled_size(x.size(2), k[0], s[0], p[0], d[0], ceil),
              pooled_size(x.size(3), k[1], s[1], p[1], d[1], ceil)};
    check<ShapeError>(out[0] >= 1 && out[1] >= 1, op, ": input ", shape_str(x.shape()),
                      " gives output size ", out[0], "x", out[1], " with kernel ", k[0], "x", k[1],
                      ", stride ", s[0], "x", s[1], ", padding ", p[0], "x", p[1], ", dilation ",
                      d[0], "x", d[1], "; output too small");
    return out;
}

// max_pool2d windows: taps start + i*dil, i in [lo, hi) are the ones inside [0, in).
AxisWindows max_windows(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, int64_t d) {
    AxisWindows a;
    a.dil = d;
    for (int64_t o = 0; o < out; ++o) {
        const int64_t st = o * s - p;
        a.start.push_back(st);
        a.lo.push_back(st < 0 ? (-st + d - 1) / d : 0);
        a.hi.push_back(std::min(k, (in - st + d - 1) / d));  // st < in by the output-size rule
    }
    return a;
}

// avg_pool2d windows (clipped to the input) and their divisor factors (PyTorch's rule).
AxisWindows avg_windows(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p,
                        bool count_include_pad) {
    AxisWindows a;
    for (int64_t o = 0; o < out; ++o) {
        const int64_t st = o * s - p;
        const int64_t end = std::min(st + k, in + p);  // clipped to the padded input
        const int64_t lo = std::max<int64_t>(st, 0), hi = std::min(end, in);
        a.start.push_back(0);
        a.lo.push_back(lo);
        a.hi.push_back(hi);
        a.count.push_back(count_include_pad ? end - st : hi - lo);
    }
    return a;
}

// PyTorch's adaptive windows [floor(o*in/out), ceil((o+1)*in/out)).
AxisWindows adaptive_windows(int64_t in, int64_t out) {
    AxisWindows a;
    for (int64_t o = 0; o < out; ++o) {
        const int64_t lo = (o * in) / out, hi = ((o + 1) * in + out - 1) / out;
        a.start.push_back(0);
        a.lo.push_back(lo);
        a.hi.push_back(hi);
        a.count.push_back(hi - lo);
    }
    return a;
}

// ---- max: forward keeps the flat in-plane index of each maximum (-1: window all padding) ----

struct MaxPool2dBackward : Node {
    Tensor saved_indices_;  // int64 [N, C, OH, OW], index into the H*W plane
    Shape x_shape_;
    std::string op_name_;
    std::string name() const override { return op_name_; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override;
    void release() override { saved_indices_ = Tensor(); }
};

template <typename T>
Tensor max_forward(const Tensor& x, const Dims& dm, const AxisWindows& rows,
                   const AxisWindows& cols, Tensor& indices) {
    const int64_t OH = rows.size(), OW = cols.size(), plane_out = OH * OW;
    Tensor y = empty({x.size(0), x.size(1), OH, OW}, x.dtype());
    indices = empty(y.shape(), DType::Int64);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    int64_t* ip = indices.data<int64_t>();
#pragma omp parallel for schedule(static) if (dm.planes * dm.H * dm.W >= kParallelGrain)
    for (int64_t pl = 0; pl < dm.planes; ++pl) {
        const T* in = xp + pl * dm.H * dm.W;
        for (int64_t oh = 0; oh < OH; ++oh) {
            for (int64_t ow = 0; ow < OW; ++ow) {
                T best = -std::numeric_limits<T>::infinity();
                int64_t arg = -1;
                for (int64_t i = rows.lo[oh]; i < rows.hi[oh]; ++i) {
                    const int64_t h = rows.start[oh] + i * rows.dil;
                    for (int64_t j = cols.lo[ow]; j < cols.hi[ow]; ++j) {
                        const int64_t idx = h * dm.W + cols.start[ow] + j * cols.dil;
                        const T v = in[idx];
                        if (v > best || std::isnan(v) || arg < 0) {  // NaN propagates, as PyTorch
                            best = v;
                            arg = idx;
                        }
                    }
                }
                yp[pl * plane_out + oh * OW + ow] = best;
                ip[pl * plane_out + oh * OW + ow] = arg;
            }
        }
    }
    return y;
}

template <typename T> Tensor max_backward(const MaxPool2dBackward& node, const Tensor& grad_y) {
    const Tensor g = grad_y.contiguous();
    const Shape& xs = node.x_shape_;
    const int64_t planes = xs[0] * xs[1], plane_in = xs[2] * xs[3];
    const int64_t plane_out = g.size(2) * g.size(3);
    Tensor gx = zeros(xs, g.dtype());
    const T* gp = g.data<T>();
    const int64_t* ip = node.saved_indices_.data<int64_t>();
    T* dx = gx.data<T>();
#pragma omp parallel for schedule(static) if (planes * plane_in >= kParallelGrain)
    for (int64_t pl = 0; pl < planes; ++pl)
        for (int64_t o = 0; o < plane_out; ++o) {
            const int64_t idx = ip[pl * plane_out + o];
            if (idx >= 0) dx[pl * plane_in + idx] += gp[pl * plane_out + o];
        }
    return gx;
}

std::vector<Tensor> MaxPool2dBackward::apply(std::vector<Tensor>&& g) {
    return {dispatch_floating(g[0].dtype(), op_name_.c_str(),
                              [&](auto tag) { return max_backward<decltype(tag)>(*this, g[0]); })};
}

Tensor max_pool_common(const char* op, const char* node_name, const Tensor& x, const Dims& dm,
                       const AxisWindows& rows, const AxisWindows& cols) {
    const Tensor xc = x.contiguous();
    Tensor indices;
    Tensor y = dispatch_floating(x.dtype(), op, [&](auto tag) {
        return max_forward<decltype(tag)>(xc, dm, rows, cols, indices);
    });
    if (auto node = make_node<MaxPool2dBackward>({x})) {
        node->saved_indices_ = indices;
        node->x_shape_ = x.shape();
        node->op_name_ = node_name;
        record(node, {y});
    }
    return y;
}

// ---- average: a window's sum divided by rows.count[oh] * cols.count[ow] ----

struct AvgPool2dBackward : Node {
    AxisWindows rows_, cols_;
    Shape x_shape_;
    std::string op_name_;
    std::string name() const override { return op_name_; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override;
};

template <typename T>
Tensor avg_forward(const Tensor& x, const Dims& dm, const AxisWindows& rows, const AxisWindows& cols) {
    const int64_t OH = rows.size(), OW = cols.size();
    Tensor y = empty({x.size(0), x.size(1), OH, OW}, x.dtype());
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
#pragma omp parallel for schedule(static) if (dm.planes * dm.H * dm.W >= kParallelGrain)
    for (int64_t pl = 0; pl < dm.planes; ++pl) {
        const T* in = xp + pl * dm.H * dm.W;
        T* out = yp + pl * OH * OW;
        for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
                T s = 0;
                for (int64_t h = rows.lo[oh]; h < rows.hi[oh]; ++h)
                    for (int64_t w = cols.lo[ow]; w < cols.hi[ow]; ++w) s += in[h * dm.W + w];
                out[oh * OW + ow] = s / static_cast<T>(rows.count[oh] * cols.count[ow]);
            }
    }
    return y;
}

template <typename T> Tensor avg_backward(const AvgPool2dBackward& node, const Tensor& grad_y) {
    const Tensor g = grad_y.contiguous();
    const AxisWindows &rows = node.rows_, &cols = node.cols_;
    const Shape& xs = node.x_shape_;
    const int64_t planes = xs[0] * xs[1], H = xs[2], W = xs[3], OH = rows.size(), OW = cols.size();
    Tensor gx = zeros(xs, g.dtype());
    const T* gp = g.data<T>();
    T* dx = gx.data<T>();
#pragma omp parallel for schedule(static) if (planes * H * W >= kParallelGrain)
    for (int64_t pl = 0; pl < planes; ++pl) {
        T* d = dx + pl * H * W;
        const T* go = gp + pl * OH * OW;
        for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
                const T v = go[oh * OW + ow] / static_cast<T>(rows.count[oh] * cols.count[ow]);
                for (int64_t h = rows.lo[oh]; h < rows.hi[oh]; ++h)
                    for (int64_t w = cols.lo[ow]; w < cols.hi[ow]; ++w) d[h * W + w] += v;
            }
    }
    return gx;
}

std::vector<Tensor> AvgPool2dBackward::apply(std::vector<Tensor>&& g) {
    return {dispatch_floating(g[0].dtype(), op_name_.c_str(),
                              [&](auto tag) { return avg_backward<decltype(tag)>(*this, g[0]); })};
}

Tensor avg_pool_common(const char* op, const char* node_name, const Tensor& x, const Dims& dm,
                       AxisWindows rows, AxisWindows cols) {
    const Tensor xc = x.contiguous();
    Tensor y = dispatch_floating(x.dtype(), op, [&](auto tag) {
        return avg_forward<decltype(tag)>(xc, dm, rows, cols);
    });
    if (auto node = make_node<AvgPool2dBackward>({x})) {
        node->rows_ = std::move(rows);
        node->cols_ = std::move(cols);
        node->x_shape_ = x.shape();
        node->op_name_ = node_name;
        record(node, {y});
    }
    return y;
}

void check_adaptive(const char* op, Size2 output_size) {
    check<ValueError>(output_size[0] >= 1 && output_size[1] >= 1, op,
                      ": output size must be positive, got ", output_size[0], "x", output_size[1]);
}

// ---- global average: contiguous plane sums, the fast path for the network head ----

struct GlobalAvgPool2dBackward : Node {
    Shape x_shape_;
    std::string name() const override { return "GlobalAvgPool2dBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override;
};

template <typename T> Tensor global_forward(const Tensor& x, const Dims& dm) {
    Tensor y = empty({x.size(0), x.size(1), 1, 1}, x.dtype());
    const int64_t hw = dm.H * dm.W;
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
#pragma omp parallel for schedule(static) if (dm.planes * hw >= kParallelGrain)
    for (int64_t pl = 0; pl < dm.planes; ++pl) {
        const T* p = xp + pl * hw;
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < hw; ++i) s += p[i];
        yp[pl] = static_cast<T>(s / static_cast<double>(hw));
    }
    return y;
}

template <typename T> Tensor global_backward(const Shape& xs, const Tensor& grad_y) {
    const Tensor g = grad_y.contiguous();
    const int64_t planes = xs[0] * xs[1], hw = xs[2] * xs[3];
    Tensor gx = empty(xs, g.dtype());
    const T* gp = g.data<T>();
    T* dx = gx.data<T>();
#pragma omp parallel for schedule(static) if (planes * hw >= kParallelGrain)
    for (int64_t pl = 0; pl < planes; ++pl) {
        const T v = gp[pl] / static_cast<T>(hw);
        T* d = dx + pl * hw;
#pragma omp simd
        for (int64_t i = 0; i < hw; ++i) d[i] = v;
    }
    return gx;
}

std::vector<Tensor> GlobalAvgPool2dBackward::apply(std::vector<Tensor>&& g) {
    return {dispatch_floating(g[0].dtype(), "global_avg_pool2d backward",
                              [&](auto tag) { return global_backward<decltype(tag)>(x_shape_, g[0]); })};
}

}  // namespace

Tensor max_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation,
                  bool ceil_mode) {
    const char* op = "max_pool2d";
    const Dims dm = check_input(x, op);
    check_args(op, x, kernel, stride, padding, dilation);
    const Size2 out = output_size(op, x, kernel, stride, padding, dilation, ceil_mode);
    return max_pool_common(op, "MaxPool2dBackward", x, dm,
                           max_windows(dm.H, out[0], kernel[0], stride[0], padding[0], dilation[0]),
                           max_windows(dm.W, out[1], kernel[1], stride[1], padding[1], dilation[1]));
}

Tensor avg_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, bool ceil_mode,
                  bool count_include_pad) {
    const char* op = "avg_pool2d";
    const Dims dm = check_input(x, op);
    check_args(op, x, kernel, stride, padding, {1, 1});
    const Size2 out = output_size(op, x, kernel, stride, padding, {1, 1}, ceil_mode);
    return avg_pool_common(
        op, "AvgPool2dBackward", x, dm,
        avg_windows(dm.H, out[0], kernel[0], stride[0], padding[0], count_include_pad),
        avg_windows(dm.W, out[1], kernel[1], stride[1], padding[1], count_include_pad));
}

Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size) {
    const char* op = "adaptive_avg_pool2d";
    const Dims dm = check_input(x, op);
    check_adaptive(op, output_size);
    return avg_pool_common(op, "AdaptiveAvgPool2dBackward", x, dm,
                           adaptive_windows(dm.H, output_size[0]),
                           adaptive_windows(dm.W, output_size[1]));
}

Tensor adaptive_max_pool2d(const Tensor& x, Size2 output_size) {
    const char* op = "adaptive_max_pool2d";
    const Dims dm = check_input(x, op);
    check_adaptive(op, output_size);
    // Adaptive windows read as max windows: start 0, dilation 1, taps lo..hi.
    return max_pool_common(op, "AdaptiveMaxPool2dBackward", x, dm,
                           adaptive_windows(dm.H, output_size[0]),
                           adaptive_windows(dm.W, output_size[1]));
}

Tensor global_avg_pool2d(const Tensor& x) {
    const Dims dm = check_input(x, "global_avg_pool2d");
    const Tensor xc = x.contiguous();
    Tensor y = dispatch_floating(x.dtype(), "global_avg_pool2d",
                                 [&](auto tag) { return global_forward<decltype(tag)>(xc, dm); });
    if (auto node = make_node<GlobalAvgPool2dBackward>({x})) {
        node->x_shape_ = x.shape();
        record(node, {y});
    }
    return y;
}

}  // namespace cardinal
