// Reference convolution by im2col + GEMM. For one image n and one group g the convolution is a
// matrix product:
//   col  [Cg*KH*KW, OH*OW]  col[(c*KH + kh)*KW + kw, oy*OW + ox] = x[n, g*Cg + c, iy, ix]
//                           iy = oy*sh - ph + kh*dh, ix = ox*sw - pw + kw*dw (0 in the padding)
//   Wg   [Og, Cg*KH*KW]     rows o = g*Og .. (g+1)*Og - 1 of w viewed as [O, Cg*KH*KW]
//   Yng  [Og, OH*OW]        channels g*Og .. of y[n] viewed as [O, OH*OW]
// forward:           Yng   = Wg * col (+ b)
// backward-data:     dcol  = Wg^T * dYng, then col2im adds every dcol entry back to its pixel
// backward-weights:  dWg  += dYng * col^T (summed over n);  db[o] = sum_{n, pixels} dY[n, o]
#include "ops/reference/conv_reference.h"

#include <Eigen/Dense>
#include <vector>

#include "tensor/parallel.h"

namespace cardinal::reference {
namespace {

template <typename T>
using MatMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <typename T>
using ConstMatMap =
    Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

// Fills col [Cg*KH*KW, OH*OW] from xg = x[n, g*Cg ...] (Cg planes of H*W).
template <typename T>
void im2col(const T* xg, T* col, const ConvGeometry& g) {
    const int64_t pixels = g.OH * g.OW;
    for (int64_t c = 0; c < g.cg(); ++c)
        for (int64_t kh = 0; kh < g.KH; ++kh)
            for (int64_t kw = 0; kw < g.KW; ++kw) {
                T* row = col + ((c * g.KH + kh) * g.KW + kw) * pixels;
                const T* plane = xg + c * g.H * g.W;
                for (int64_t oy = 0; oy < g.OH; ++oy) {
                    const int64_t iy = oy * g.sh - g.ph + kh * g.dh;
                    for (int64_t ox = 0; ox < g.OW; ++ox) {
                        const int64_t ix = ox * g.sw - g.pw + kw * g.dw;
                        const bool inside = iy >= 0 && iy < g.H && ix >= 0 && ix < g.W;
                        row[oy * g.OW + ox] = inside ? plane[iy * g.W + ix] : T(0);
                    }
                }
            }
}

// The adjoint of im2col: gxg[c, iy, ix] += col[(c, kh, kw), (oy, ox)] for every tap inside.
template <typename T>
void col2im_add(const T* col, T* gxg, const ConvGeometry& g) {
    const int64_t pixels = g.OH * g.OW;
    for (int64_t c = 0; c < g.cg(); ++c)
        for (int64_t kh = 0; kh < g.KH; ++kh)
            for (int64_t kw = 0; kw < g.KW; ++kw) {
                const T* row = col + ((c * g.KH + kh) * g.KW + kw) * pixels;
                T* plane = gxg + c * g.H * g.W;
                for (int64_t oy = 0; oy < g.OH; ++oy) {
                    const int64_t iy = oy * g.sh - g.ph + kh * g.dh;
                    if (iy < 0 || iy >= g.H) continue;
                    for (int64_t ox = 0; ox < g.OW; ++ox) {
                        const int64_t ix = ox * g.sw - g.pw + kw * g.dw;
                        if (ix >= 0 && ix < g.W) plane[iy * g.W + ix] += row[oy * g.OW + ox];
                    }
                }
            }
}

int64_t col_rows(const ConvGeometry& g) { return g.cg() * g.KH * g.KW; }

}  // namespace

template <typename T>
void conv2d_forward(const T* x, const T* w, const T* b, T* y, const ConvGeometry& g) {
    const int64_t K = col_rows(g), P = g.OH * g.OW, jobs = g.N * g.G;
#pragma omp parallel if (jobs > 1 && g.N * g.O * P * K >= kParallelGrain)
    {
        std::vector<T> col(static_cast<size_t>(K * P));
#pragma omp for schedule(static)
        for (int64_t job = 0; job < jobs; ++job) {
            const int64_t n = job / g.G, gi = job % g.G;
            im2col(x + (n * g.C + gi * g.cg()) * g.H * g.W, col.data(), g);
            MatMap<T> yng(y + (n * g.O + gi * g.og()) * P, g.og(), P);
            yng.noalias() = ConstMatMap<T>(w + gi * g.og() * K, g.og(), K) *
                            ConstMatMap<T>(col.data(), K, P);
            if (b)
                for (int64_t o = 0; o < g.og(); ++o) yng.row(o).array() += b[gi * g.og() + o];
        }
    }
}

template <typename T>
void conv2d_backward_data(const T* grad_y, const T* w, T* grad_x, const ConvGeometry& g) {
    const int64_t K = col_rows(g), P = g.OH * g.OW, jobs = g.N * g.G;
    std::fill(grad_x, grad_x + g.N * g.C * g.H * g.W, T(0));
#pragma omp parallel if (jobs > 1 && g.N * g.O * P * K >= kParallelGrain)
    {
        std::vector<T> col(static_cast<size_t>(K * P));
#pragma omp for schedule(static)
        for (int64_t job = 0; job < jobs; ++job) {
            const int64_t n = job / g.G, gi = job % g.G;
            MatMap<T> dcol(col.data(), K, P);
            dcol.noalias() = ConstMatMap<T>(w + gi * g.og() * K, g.og(), K).transpose() *
                             ConstMatMap<T>(grad_y + (n * g.O + gi * g.og()) * P, g.og(), P);
            col2im_add(col.data(), grad_x + (n * g.C + gi * g.cg()) * g.H * g.W, g);
        }
    }
}

template <typename T>
void conv2d_backward_weights(const T* grad_y, const T* x, T* grad_w, T* grad_b,
                             const ConvGeometry& g) {
    const int64_t K = col_rows(g), P = g.OH * g.OW;
    // Groups own disjoint rows of grad_w, so they run in parallel; images are summed in order.
#pragma omp parallel if (g.G > 1 && g.N * g.O * P * K >= kParallelGrain)
    {
        std::vector<T> col(static_cast<size_t>(K * P));
#pragma omp for schedule(static)
        for (int64_t gi = 0; gi < g.G; ++gi) {
            MatMap<T> dwg(grad_w + gi * g.og() * K, g.og(), K);
            dwg.setZero();
            for (int64_t n = 0; n < g.N; ++n) {
                im2col(x + (n * g.C + gi * g.cg()) * g.H * g.W, col.data(), g);
                dwg.noalias() += ConstMatMap<T>(grad_y + (n * g.O + gi * g.og()) * P, g.og(), P) *
                                 ConstMatMap<T>(col.data(), K, P).transpose();
            }
        }
    }
    if (grad_b) {
        for (int64_t o = 0; o < g.O; ++o) {
            T sum = 0;
            for (int64_t n = 0; n < g.N; ++n) {
                const T* plane = grad_y + (n * g.O + o) * P;
                for (int64_t p = 0; p < P; ++p) sum += plane[p];
            }
            grad_b[o] = sum;
        }
    }
}

template void conv2d_forward<float>(const float*, const float*, const float*, float*,
                                    const ConvGeometry&);
template void conv2d_forward<double>(const double*, const double*, const double*, double*,
                                     const ConvGeometry&);
template void conv2d_backward_data<float>(const float*, const float*, float*, const ConvGeometry&);
template void conv2d_backward_data<double>(const double*, const double*, double*,
                                           const ConvGeometry&);
template void conv2d_backward_weights<float>(const float*, const float*, float*, float*,
                                             const ConvGeometry&);
template void conv2d_backward_weights<double>(const double*, const double*, double*, double*,
                                              const ConvGeometry&);

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeometry& g) {
    Tensor y = empty(g.output_shape(), x.dtype());
    Tensor xc = x.contiguous(), wc = w.contiguous(), bc = b.defined() ? b.contiguous() : b;
    dispatch_floating(x.dtype(), "reference::conv2d_forward", [&](auto t) {
        using T = decltype(t);
        conv2d_forward<T>(xc.data<T>(), wc.data<T>(), bc.defined() ? bc.data<T>() : nullptr,
                          y.data<T>(), g);
    });
    return y;
}

Tensor conv2d_backward_data(const Tensor& grad_y, const Tensor& w, const ConvGeometry& g) {
    Tensor gx = empty(g.input_shape(), grad_y.dtype());
    Tensor gyc = grad_y.contiguous(), wc = w.contiguous();
    dispatch_floating(grad_y.dtype(), "reference::conv2d_backward_data", [&](auto t) {
        using T = decltype(t);
        conv2d_backward_data<T>(gyc.data<T>(), wc.data<T>(), gx.data<T>(), g);
    });
    return gx;
}

std::pair<Tensor, Tensor> conv2d_backward_weights(const Tensor& grad_y, const Tensor& x,
                                                  const ConvGeometry& g, bool with_bias) {
    Tensor gw = empty(g.weight_shape(), grad_y.dtype());
    Tensor gb = with_bias ? empty({g.O}, grad_y.dtype()) : Tensor();
    Tensor gyc = grad_y.contiguous(), xc = x.contiguous();
    dispatch_floating(grad_y.dtype(), "reference::conv2d_backward_weights", [&](auto t) {
        using T = decltype(t);
        conv2d_backward_weights<T>(gyc.data<T>(), xc.data<T>(), gw.data<T>(),
                                   with_bias ? gb.data<T>() : nullptr, g);
    });
    return {gw, gb};
}

}  // namespace cardinal::reference
