// Adaptive and global pooling of x [N, C, H, W] -> y [N, C, OH, OW], each plane on its own.
//
//   adaptive windows (PyTorch): rows [floor(oh*H/OH), ceil((oh+1)*H/OH)), the same for columns;
//   windows may overlap and OH may exceed H.
//   adaptive_avg_pool2d: y = mean over the window,  grad_x[window] += g / (window size)
//   adaptive_max_pool2d: y = max over the window,   grad_x[argmax] += g  (first maximum)
//   global_avg_pool2d:   y = (1/(H*W)) sum over the plane, grad_x = g / (H*W); the network
//                        head's fast path (contiguous, vectorised sums).
#include <vector>

#include "autograd/function.h"
#include "ops/pool_common.h"
#include "ops/pooling.h"
#include "ops/precision.h"
#include "tensor/kernels.h"
#include "tensor/memory_format.h"
#include "tensor/parallel.h"

namespace cardinal {
namespace {

using pool_detail::PoolDims;

struct Windows {
    std::vector<int64_t> lo, hi;
    int64_t size() const { return static_cast<int64_t>(lo.size()); }
};

Windows adaptive_windows(int64_t in, int64_t out) {
    Windows w;
    for (int64_t o = 0; o < out; ++o) {
        w.lo.push_back((o * in) / out);
        w.hi.push_back(((o + 1) * in + out - 1) / out);
    }
    return w;
}

void check_output_size(const char* op, Size2 output_size) {
    check<ValueError>(output_size[0] >= 1 && output_size[1] >= 1, op,
                      ": output size must be positive, got ", output_size[0], "x", output_size[1]);
}

// Calls fn(plane, oh, ow, h0, h1, w0, w1) for every output, planes in parallel.
template <typename Fn>
void for_each_window(int64_t planes, int64_t plane_in, const Windows& rows, const Windows& cols,
                     Fn fn) {
#pragma omp parallel for schedule(static) if (planes * plane_in >= kParallelGrain)
    for (int64_t pl = 0; pl < planes; ++pl)
        for (int64_t oh = 0; oh < rows.size(); ++oh)
            for (int64_t ow = 0; ow < cols.size(); ++ow)
                fn(pl, oh, ow, rows.lo[oh], rows.hi[oh], cols.lo[ow], cols.hi[ow]);
}

struct AdaptiveAvgPool2dBackward : Node {
    Windows rows_, cols_;
    Shape x_shape_;
    std::string name() const override { return "AdaptiveAvgPool2dBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override;
};

template <typename T>
Tensor adaptive_avg(const Tensor& x, const Windows& rows, const Windows& cols) {
    const int64_t H = x.size(2), W = x.size(3), OH = rows.size(), OW = cols.size();
    Tensor y = empty({x.size(0), x.size(1), OH, OW}, x.dtype());
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    for_each_window(
        x.size(0) * x.size(1), H * W, rows, cols,
        [&](int64_t pl, int64_t oh, int64_t ow, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
            const T* in = xp + pl * H * W;
            T s = 0;
            for (int64_t h = h0; h < h1; ++h)
                for (int64_t w = w0; w < w1; ++w) s += in[h * W + w];
            yp[(pl * OH + oh) * OW + ow] = s / static_cast<T>((h1 - h0) * (w1 - w0));
        });
    return y;
}

template <typename T>
Tensor adaptive_avg_backward(const AdaptiveAvgPool2dBackward& node, const Tensor& grad_y) {
    const Tensor g = grad_y.contiguous();
    const Shape& xs = node.x_shape_;
    const int64_t H = xs[2], W = xs[3], OH = node.rows_.size(), OW = node.cols_.size();
    Tensor gx = zeros(xs, g.dtype());
    const T* gp = g.data<T>();
    T* dx = gx.data<T>();
    // Each plane is written by one thread only.
    for_each_window(
        xs[0] * xs[1], H * W, node.rows_, node.cols_,
        [&](int64_t pl, int64_t oh, int64_t ow, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
            T* d = dx + pl * H * W;
            const T v = gp[(pl * OH + oh) * OW + ow] / static_cast<T>((h1 - h0) * (w1 - w0));
            for (int64_t h = h0; h < h1; ++h)
                for (int64_t w = w0; w < w1; ++w) d[h * W + w] += v;
        });
    return gx;
}

std::vector<Tensor> AdaptiveAvgPool2dBackward::apply(std::vector<Tensor>&& g) {
    return {dispatch_floating(g[0].dtype(), "adaptive_avg_pool2d backward", [&](auto tag) {
        return adaptive_avg_backward<decltype(tag)>(*this, g[0]);
    })};
}

template <typename T>
Tensor adaptive_max(const Tensor& x, const Windows& rows, const Windows& cols,
                    std::vector<int32_t>& argmax) {
    const int64_t H = x.size(2), W = x.size(3), OH = rows.size(), OW = cols.size();
    Tensor y = empty({x.size(0), x.size(1), OH, OW}, x.dtype());
    argmax.resize(x.size(0) * x.size(1) * OH * OW);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    for_each_window(
        x.size(0) * x.size(1), H * W, rows, cols,
        [&](int64_t pl, int64_t oh, int64_t ow, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
            const T* in = xp + pl * H * W;
            int64_t arg = h0 * W + w0;  // windows are never empty
            T best = in[arg];
            for (int64_t h = h0; h < h1; ++h)
                for (int64_t w = w0; w < w1; ++w) {
                    const T v = in[h * W + w];
                    const bool take = v > best || v != v;  // NaN propagates
                    best = take ? v : best;
                    arg = take ? h * W + w : arg;
                }
            yp[(pl * OH + oh) * OW + ow] = best;
            argmax[(pl * OH + oh) * OW + ow] = static_cast<int32_t>(arg);
        });
    return y;
}

struct GlobalAvgPool2dBackward : Node {
    Shape x_shape_;
    bool channels_last_ = false;  // gx in x's layout
    std::string name() const override { return "GlobalAvgPool2dBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override;
};

template <typename T>
Tensor global_forward(const Tensor& x, const PoolDims& dm) {
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

// Channels-last: y[n, c] = mean over the pixel rows x[n, p, c] (kernels::sum adds whole rows,
// vectorised over c); gx[n, p, c] = g[n, c] / (H*W) written row by row.
Tensor global_forward_channels_last(const Tensor& x) {
    return kernels::mean(x, {2, 3}, true).contiguous();
}

Tensor global_backward_channels_last(const Shape& xs, const Tensor& grad_y) {
    Tensor gx = empty(xs, grad_y.dtype(), MemoryFormat::ChannelsLast);
    gx.copy_(grad_y.reshape({xs[0], xs[1], 1, 1}).expand(xs));
    kernels::mul_scalar_(gx, 1.0 / static_cast<double>(xs[2] * xs[3]));
    return gx;
}

template <typename T>
Tensor global_backward(const Shape& xs, const Tensor& grad_y) {
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
    if (channels_last_) return {global_backward_channels_last(x_shape_, g[0])};
    return {dispatch_floating(g[0].dtype(), "global_avg_pool2d backward", [&](auto tag) {
        return global_backward<decltype(tag)>(x_shape_, g[0]);
    })};
}

}  // namespace

Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size) {
    if (x.defined() && x.dtype() == DType::BFloat16)  // bf16 inference: pooled in float32
        return adaptive_avg_pool2d(float32_activation(x), output_size);
    pool_detail::check_input(x, "adaptive_avg_pool2d");
    check_output_size("adaptive_avg_pool2d", output_size);
    Windows rows = adaptive_windows(x.size(2), output_size[0]);
    Windows cols = adaptive_windows(x.size(3), output_size[1]);
    const Tensor xc = x.contiguous();
    Tensor y = dispatch_floating(x.dtype(), "adaptive_avg_pool2d", [&](auto tag) {
        return adaptive_avg<decltype(tag)>(xc, rows, cols);
    });
    if (auto node = make_node<AdaptiveAvgPool2dBackward>({x})) {
        node->rows_ = std::move(rows);
        node->cols_ = std::move(cols);
        node->x_shape_ = x.shape();
        record(node, {y});
    }
    return y;
}

Tensor adaptive_max_pool2d(const Tensor& x, Size2 output_size) {
    pool_detail::check_input(x, "adaptive_max_pool2d");
    check_output_size("adaptive_max_pool2d", output_size);
    const Windows rows = adaptive_windows(x.size(2), output_size[0]);
    const Windows cols = adaptive_windows(x.size(3), output_size[1]);
    const Tensor xc = x.contiguous();
    std::vector<int32_t> argmax;
    Tensor y = dispatch_floating(x.dtype(), "adaptive_max_pool2d", [&](auto tag) {
        return adaptive_max<decltype(tag)>(xc, rows, cols, argmax);
    });
    pool_detail::record_max_pool("AdaptiveMaxPool2dBackward", x, y, std::move(argmax));
    return y;
}

Tensor global_avg_pool2d(const Tensor& x) {
    if (x.defined() && x.dtype() == DType::BFloat16)  // bf16 inference: the head is float32
        return global_avg_pool2d(float32_activation(x));
    const PoolDims dm = pool_detail::check_input(x, "global_avg_pool2d");
    const bool channels_last = suggest_memory_format(x) == MemoryFormat::ChannelsLast;
    Tensor y = channels_last ? global_forward_channels_last(x)
                             : dispatch_floating(x.dtype(), "global_avg_pool2d", [&](auto tag) {
                                   return global_forward<decltype(tag)>(x.contiguous(), dm);
                               });
    if (auto node = make_node<GlobalAvgPool2dBackward>({x})) {
        node->x_shape_ = x.shape();
        node->channels_last_ = channels_last;
        record(node, {y});
    }
    return y;
}

}  // namespace cardinal
