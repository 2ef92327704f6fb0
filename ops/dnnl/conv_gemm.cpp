// Convolution by im2col + onednn::sgemm (ops/dnnl/sgemm.h) per image (see conv_gemm.h for the
// products). One OpenMP region per call splits the images over the threads; each sgemm then runs
// on its own thread (oneDNN does not nest parallelism), so a call costs one fork, not one per
// product.
#include "ops/dnnl/conv_gemm.h"

#include <omp.h>

#include <algorithm>

#include "ops/dnnl/sgemm.h"
#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tensor/tensor.h"

namespace cardinal::onednn::gemm_conv {
namespace {

// 1x1, stride 1, no padding: the input planes are already the col matrix.
bool is_pointwise(const ConvGeometry& g) {
    return g.KH == 1 && g.KW == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}

int64_t col_rows(const ConvGeometry& g) { return g.cg() * g.KH * g.KW; }

// Per-thread scratch of `per_thread` floats from the caching allocator: a std::vector of this
// size (100s of KiB) is mmapped and page-faulted afresh on every call.
struct Scratch {
    Tensor buffer;
    int64_t per_thread;
    Scratch(int threads, int64_t n)
        : buffer(empty({std::max<int64_t>(threads * n, 1)}, DType::Float32)), per_thread(n) {}
    float* of(int thread) { return buffer.data<float>() + thread * per_thread; }
};

int threads_for(bool threaded) { return threaded ? omp_get_max_threads() : 1; }

// Enough multiply-adds to pay for waking the second thread (a fork costs ~10 us, and can stall).
bool worth_threads(const ConvGeometry& g) {
    return g.N > 1 && g.N * g.O * g.OH * g.OW * col_rows(g) >= 64 * kParallelGrain;
}

// Output columns [lo, hi) whose tap kw reads inside the input row (ix = ox*sw - pw + kw*dw).
void inside_range(int64_t kw, const ConvGeometry& g, int64_t& lo, int64_t& hi) {
    const int64_t shift = kw * g.dw - g.pw;  // ix = ox*sw + shift
    lo = shift >= 0 ? 0 : (-shift + g.sw - 1) / g.sw;
    hi = g.W - shift <= 0 ? 0 : (g.W - shift + g.sw - 1) / g.sw;
    hi = std::min(hi, g.OW);
    lo = std::min(lo, hi);
}

// col[(c*KH + kh)*KW + kw, oy*OW + ox] = xg[c, oy*sh - ph + kh*dh, ox*sw - pw + kw*dw], 0 outside.
void im2col(const float* xg, float* col, const ConvGeometry& g) {
    const int64_t P = g.OH * g.OW;
    for (int64_t c = 0; c < g.cg(); ++c)
        for (int64_t kh = 0; kh < g.KH; ++kh)
            for (int64_t kw = 0; kw < g.KW; ++kw) {
                float* row = col + ((c * g.KH + kh) * g.KW + kw) * P;
                const float* plane = xg + c * g.H * g.W;
                int64_t lo, hi;
                inside_range(kw, g, lo, hi);
                const int64_t shift = kw * g.dw - g.pw;
                for (int64_t oy = 0; oy < g.OH; ++oy) {
                    float* out = row + oy * g.OW;
                    const int64_t iy = oy * g.sh - g.ph + kh * g.dh;
                    if (iy < 0 || iy >= g.H) {
                        std::fill(out, out + g.OW, 0.f);
                        continue;
                    }
                    const float* in = plane + iy * g.W;
                    std::fill(out, out + lo, 0.f);
                    for (int64_t ox = lo; ox < hi; ++ox) out[ox] = in[ox * g.sw + shift];
                    std::fill(out + hi, out + g.OW, 0.f);
                }
            }
}

// The adjoint of im2col: gxg[c, iy, ix] += col[(c, kh, kw), (oy, ox)] for every tap inside.
void col2im_add(const float* col, float* gxg, const ConvGeometry& g) {
    const int64_t P = g.OH * g.OW;
    for (int64_t c = 0; c < g.cg(); ++c)
        for (int64_t kh = 0; kh < g.KH; ++kh)
            for (int64_t kw = 0; kw < g.KW; ++kw) {
                const float* row = col + ((c * g.KH + kh) * g.KW + kw) * P;
                float* plane = gxg + c * g.H * g.W;
                int64_t lo, hi;
                inside_range(kw, g, lo, hi);
                const int64_t shift = kw * g.dw - g.pw;
                for (int64_t oy = 0; oy < g.OH; ++oy) {
                    const int64_t iy = oy * g.sh - g.ph + kh * g.dh;
                    if (iy < 0 || iy >= g.H) continue;
                    const float* in = row + oy * g.OW;
                    float* out = plane + iy * g.W;
                    for (int64_t ox = lo; ox < hi; ++ox) out[ox * g.sw + shift] += in[ox];
                }
            }
}

// ---- pixel rows: the batch (and, channels-last, the pixels) fold into one product per group ----
// x viewed as [R, C] with R = N*H*W rows (1x1 maps in either layout, or any channels-last map);
// group gi uses columns gi*Cg .. of x and rows gi*Og .. of w [O, Cg].
int64_t pixel_rows(const ConvGeometry& g) { return g.N * g.H * g.W; }

void forward_folded(const float* x, const float* w, const float* b, float* y,
                    const ConvGeometry& g) {
    const int64_t R = pixel_rows(g);
    for (int64_t gi = 0; gi < g.G; ++gi)  // y[:, g] = x[:, g] w_g^T
        sgemm('N', 'T', R, g.og(), g.cg(), x + gi * g.cg(), g.C, w + gi * g.og() * g.cg(),
              g.cg(), 0.f, y + gi * g.og(), g.O);
    if (b)
        for (int64_t n = 0; n < R; ++n)
            for (int64_t o = 0; o < g.O; ++o) y[n * g.O + o] += b[o];
}

void backward_data_folded(const float* gy, const float* w, float* gx, const ConvGeometry& g) {
    const int64_t R = pixel_rows(g);
    for (int64_t gi = 0; gi < g.G; ++gi)  // gx[:, g] = gy[:, g] w_g
        sgemm('N', 'N', R, g.cg(), g.og(), gy + gi * g.og(), g.O, w + gi * g.og() * g.cg(),
              g.cg(), 0.f, gx + gi * g.cg(), g.C);
}

void backward_weights_folded(const float* gy, const float* x, float* gw, float* gb,
                             const ConvGeometry& g) {
    const int64_t R = pixel_rows(g);
    for (int64_t gi = 0; gi < g.G; ++gi)  // gw_g = gy[:, g]^T x[:, g]
        sgemm('T', 'N', g.og(), g.cg(), R, gy + gi * g.og(), g.O, x + gi * g.cg(), g.C, 0.f,
              gw + gi * g.og() * g.cg(), g.cg());
    if (gb) {
        std::fill(gb, gb + g.O, 0.f);
        for (int64_t n = 0; n < R; ++n)
            for (int64_t o = 0; o < g.O; ++o) gb[o] += gy[n * g.O + o];
    }
}

// The products above apply to pointwise convs on 1x1 maps and on channels-last maps; the
// per-image im2col paths below read NCHW memory only.
bool folds(const ConvGeometry& g) { return is_pointwise(g) && (g.H * g.W == 1 || g.channels_last); }

void check_nchw(const ConvGeometry& g) {
    check<Error>(!g.channels_last, "conv2d (gemm): a channels-last input takes this path only for 1x1 stride-1 "
                 "unpadded convolutions, got kernel ", g.KH, "x", g.KW, " stride ", g.sh, "x", g.sw);
}

}  // namespace

void forward(const float* x, const float* w, const float* b, float* y, const ConvGeometry& g) {
    if (folds(g)) return forward_folded(x, w, b, y, g);
    check_nchw(g);
    const int64_t K = col_rows(g), P = g.OH * g.OW;
    const bool pointwise = is_pointwise(g), threaded = worth_threads(g);
    const int nthreads = threads_for(threaded);
    Scratch cols(nthreads, pointwise ? 0 : K * P);
#pragma omp parallel num_threads(nthreads) if (threaded)
    {
        float* col = cols.of(omp_get_thread_num());
#pragma omp for schedule(static)
        for (int64_t n = 0; n < g.N; ++n)
            for (int64_t gi = 0; gi < g.G; ++gi) {
                const float* xg = x + (n * g.C + gi * g.cg()) * g.H * g.W;
                if (!pointwise) im2col(xg, col, g);
                float* yg = y + (n * g.O + gi * g.og()) * P;
                sgemm('N', 'N', g.og(), P, K, w + gi * g.og() * K, K, pointwise ? xg : col, P,
                      0.f, yg, P);
                if (b)
                    for (int64_t o = 0; o < g.og(); ++o) {
                        const float bo = b[gi * g.og() + o];
                        for (int64_t p = 0; p < P; ++p) yg[o * P + p] += bo;
                    }
            }
    }
}

void backward_data(const float* gy, const float* w, float* gx, const ConvGeometry& g) {
    if (folds(g)) return backward_data_folded(gy, w, gx, g);
    check_nchw(g);
    const int64_t K = col_rows(g), P = g.OH * g.OW;
    const bool pointwise = is_pointwise(g), threaded = worth_threads(g);
    const int nthreads = threads_for(threaded);
    Scratch cols(nthreads, pointwise ? 0 : K * P);
#pragma omp parallel num_threads(nthreads) if (threaded)
    {
        float* col = cols.of(omp_get_thread_num());
#pragma omp for schedule(static)
        for (int64_t n = 0; n < g.N; ++n) {
            float* gxn = gx + n * g.C * g.H * g.W;
            if (!pointwise) std::fill(gxn, gxn + g.C * g.H * g.W, 0.f);
            for (int64_t gi = 0; gi < g.G; ++gi) {
                float* gxg = gxn + gi * g.cg() * g.H * g.W;
                // dcol = W_g^T dY_ng, straight into dX_ng when there is no col.
                sgemm('T', 'N', K, P, g.og(), w + gi * g.og() * K, K,
                      gy + (n * g.O + gi * g.og()) * P, P, 0.f, pointwise ? gxg : col, P);
                if (!pointwise) col2im_add(col, gxg, g);
            }
        }
    }
}

void backward_weights(const float* gy, const float* x, float* gw, float* gb,
                      const ConvGeometry& g) {
    if (folds(g)) return backward_weights_folded(gy, x, gw, gb, g);
    check_nchw(g);
    const int64_t K = col_rows(g), P = g.OH * g.OW, wsize = g.O * K;
    const bool pointwise = is_pointwise(g), threaded = worth_threads(g);
    const int nthreads = threads_for(threaded);
    // Partial sums per thread, [O*K weights | O biases], added up in thread order afterwards so
    // that a result does not depend on timing.
    Scratch partials(nthreads, wsize + g.O), cols(nthreads, pointwise ? 0 : K * P);
    // OpenMP may give a smaller team than asked (OMP_DYNAMIC, a thread limit, a call from inside
    // another parallel region): only the partials of threads that ran are initialised, so only
    // those are added up.
    int team = 1;
#pragma omp parallel num_threads(nthreads) if (threaded)
    {
        const int t = omp_get_thread_num();
        if (t == 0) team = omp_get_num_threads();
        float* acc_w = partials.of(t);
        float* acc_b = acc_w + wsize;
        std::fill(acc_w, acc_w + wsize + g.O, 0.f);
        float* col = cols.of(t);
#pragma omp for schedule(static)
        for (int64_t n = 0; n < g.N; ++n)
            for (int64_t gi = 0; gi < g.G; ++gi) {
                const float* xg = x + (n * g.C + gi * g.cg()) * g.H * g.W;
                const float* gyg = gy + (n * g.O + gi * g.og()) * P;
                if (!pointwise) im2col(xg, col, g);
                // dW_g += dY_ng col^T
                sgemm('N', 'T', g.og(), K, P, gyg, P, pointwise ? xg : col, P, 1.f,
                      acc_w + gi * g.og() * K, K);
                if (gb)
                    for (int64_t o = 0; o < g.og(); ++o) {
                        float s = 0;
#pragma omp simd reduction(+ : s)
                        for (int64_t p = 0; p < P; ++p) s += gyg[o * P + p];
                        acc_b[gi * g.og() + o] += s;
                    }
            }
    }
    std::copy(partials.of(0), partials.of(0) + wsize, gw);
    if (gb) std::copy(partials.of(0) + wsize, partials.of(0) + wsize + g.O, gb);
    for (int t = 1; t < team; ++t) {
        const float* acc = partials.of(t);
        for (int64_t i = 0; i < wsize; ++i) gw[i] += acc[i];
        if (gb)
            for (int64_t o = 0; o < g.O; ++o) gb[o] += acc[wsize + o];
    }
}

}  // namespace cardinal::onednn::gemm_conv
