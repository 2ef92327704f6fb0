// The kernels of grouped_conv_cl.h. Each pass walks pixels and 16-channel blocks; per tap it
// loads one 16-float vector of the pixel it reads and does cg (permute, FMA) pairs into
// accumulators split over four registers (or cg for backward-weights), so the FMA latency chains
// are short and the permutation unit sets the pace.
#include "ops/grouped_conv_cl.h"

#include <algorithm>
#include <vector>

#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tensor/tensor.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace cardinal::grouped_conv_cl {

#if defined(__AVX512F__)
namespace {

constexpr int64_t kLanes = 16;
// Backward-weights splits the output rows into this many chunks whatever the thread count.
constexpr int64_t kWeightChunks = 32;

// idx[i] spreads lane g*CG + i of a vector over the CG lanes of each group g.
template <int CG>
struct Spread {
    __m512i idx[CG];
    Spread() {
        for (int i = 0; i < CG; ++i) {
            alignas(64) int32_t v[kLanes];
            for (int l = 0; l < kLanes; ++l) v[l] = l / CG * CG + i;
            idx[i] = _mm512_load_si512(v);
        }
    }
};

// Lane g*CG + i of v in every lane of group g. With 4-channel groups each group is one 128-bit
// lane, and the in-lane shuffle (vpermilps) is cheaper than the full permutation.
template <int CG>
inline __m512 spread(const Spread<CG>& s, int i, __m512 v) {
    if constexpr (CG == 4) {
        switch (i) {
            case 0: return _mm512_permute_ps(v, 0x00);
            case 1: return _mm512_permute_ps(v, 0x55);
            case 2: return _mm512_permute_ps(v, 0xAA);
            default: return _mm512_permute_ps(v, 0xFF);
        }
    }
    return _mm512_permutexvar_ps(s.idx[i], v);
}

// Taps k in [lo, hi) for which out*stride - pad + k*dilation lies in [0, in).
inline void tap_range(int64_t out, int64_t stride, int64_t pad, int64_t dilation, int64_t kernel,
                      int64_t in, int64_t& lo, int64_t& hi) {
    const int64_t base = out * stride - pad;  // the input coordinate of tap 0
    lo = base >= 0 ? 0 : (-base + dilation - 1) / dilation;
    hi = base >= in ? 0 : std::min(kernel, (in - 1 - base) / dilation + 1);
    lo = std::min(lo, hi);
}

// Outputs o in [lo, hi) for which o*stride + shift lies in [0, in), o < out.
inline void output_range(int64_t shift, int64_t stride, int64_t in, int64_t out, int64_t& lo,
                         int64_t& hi) {
    lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
    hi = in - 1 - shift < 0 ? 0 : std::min(out, (in - 1 - shift) / stride + 1);
    lo = std::min(lo, hi);
}

bool threaded(const ConvGeometry& g) {
    return g.N * g.OH * g.OW * g.O * g.cg() * g.KH * g.KW >= 8 * kParallelGrain;
}

inline __m512 sum4(const __m512 a[4]) {
    return _mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3]));
}

// wp[(tap*CG + j)*C + c]. Forward (j = input channel i of c's group): w[c][j][tap].
// Backward-data (c = g*CG + i, j = output channel o of the group): w[g*CG + j][i][tap].
template <int CG>
std::vector<float> arrange_weights(const float* w, const ConvGeometry& g, bool for_backward_data) {
    const int64_t C = g.C, taps = g.KH * g.KW;
    std::vector<float> wp(static_cast<size_t>(taps * CG * C));
    for (int64_t c = 0; c < C; ++c) {
        const int64_t group = c / CG, within = c % CG;
        for (int j = 0; j < CG; ++j) {
            const int64_t src = for_backward_data ? ((group * CG + j) * CG + within) * taps
                                                  : (c * CG + j) * taps;
            for (int64_t tap = 0; tap < taps; ++tap) wp[(tap * CG + j) * C + c] = w[src + tap];
        }
    }
    return wp;
}

// Forward over output pixels [ow0, ow0 + P) of one row and one 16-channel block, every tap of
// kh in [kh_lo, kh_hi) and kw in [kw_lo, kw_hi) inside the input for all P pixels. P pixels at
// once share each weight load and give 2P independent FMA chains.
template <int CG, int P>
inline void forward_pixels(const float* x_img, const float* wp, const float* b, float* y_row,
                           const float* res_row, bool relu, const Spread<CG>& s,
                           const ConvGeometry& g, int64_t oh, int64_t ow0, int64_t cb,
                           int64_t kh_lo, int64_t kh_hi, int64_t kw_lo, int64_t kw_hi) {
    const int64_t C = g.C;
    __m512 acc[P][2];
    for (int p = 0; p < P; ++p) {
        acc[p][0] = b ? _mm512_loadu_ps(b + cb * kLanes) : _mm512_setzero_ps();
        acc[p][1] = _mm512_setzero_ps();
    }
    for (int64_t kh = kh_lo; kh < kh_hi; ++kh) {
        const float* row = x_img + (oh * g.sh - g.ph + kh * g.dh) * g.W * C + cb * kLanes;
        for (int64_t kw = kw_lo; kw < kw_hi; ++kw) {
            __m512 v[P];
            for (int p = 0; p < P; ++p)
                v[p] = _mm512_loadu_ps(row + ((ow0 + p) * g.sw - g.pw + kw * g.dw) * C);
            const float* wt = wp + (kh * g.KW + kw) * CG * C + cb * kLanes;
            for (int i = 0; i < CG; ++i) {
                const __m512 w = _mm512_loadu_ps(wt + i * C);
                for (int p = 0; p < P; ++p)
                    acc[p][i % 2] = _mm512_fmadd_ps(spread(s, i, v[p]), w, acc[p][i % 2]);
            }
        }
    }
    for (int p = 0; p < P; ++p) {
        const int64_t at = (ow0 + p) * C + cb * kLanes;
        __m512 out = _mm512_add_ps(acc[p][0], acc[p][1]);
        if (res_row) out = _mm512_add_ps(out, _mm512_loadu_ps(res_row + at));
        if (relu) out = _mm512_max_ps(out, _mm512_setzero_ps());
        _mm512_storeu_ps(y_row + at, out);
    }
}

template <int CG>
void forward_impl(const float* x, const float* w, const float* b, float* y, const ConvGeometry& g,
                  const float* residual, bool relu) {
    constexpr int kPixels = 4;
    const int64_t C = g.C, blocks = C / kLanes;
    const std::vector<float> wp = arrange_weights<CG>(w, g, false);
    const Spread<CG> s;
    // Output columns whose every kw tap is inside the input row.
    int64_t inner_lo = 0, inner_hi = 0;
    output_range(-g.pw, g.sw, g.W - (g.KW - 1) * g.dw, g.OW, inner_lo, inner_hi);
#pragma omp parallel for collapse(2) schedule(static) if (threaded(g))
    for (int64_t n = 0; n < g.N; ++n)
        for (int64_t oh = 0; oh < g.OH; ++oh) {
            int64_t kh_lo, kh_hi;
            tap_range(oh, g.sh, g.ph, g.dh, g.KH, g.H, kh_lo, kh_hi);
            const float* x_img = x + n * g.H * g.W * C;
            float* y_row = y + (n * g.OH + oh) * g.OW * C;
            const float* res_row = residual ? residual + (n * g.OH + oh) * g.OW * C : nullptr;
            // Pixel blocks outer, channel blocks inner: the few input pixels a block reads stay
            // in L1 across the channel blocks (the other order measured 1.4x slower).
            auto one = [&](int64_t col) {
                int64_t kw_lo, kw_hi;
                tap_range(col, g.sw, g.pw, g.dw, g.KW, g.W, kw_lo, kw_hi);
                for (int64_t cb = 0; cb < blocks; ++cb)
                    forward_pixels<CG, 1>(x_img, wp.data(), b, y_row, res_row, relu, s, g, oh, col, cb, kh_lo,
                                          kh_hi, kw_lo, kw_hi);
            };
            int64_t ow = 0;
            for (; ow < std::min(inner_lo, g.OW); ++ow) one(ow);
            for (; ow + kPixels <= inner_hi; ow += kPixels)
                for (int64_t cb = 0; cb < blocks; ++cb)
                    forward_pixels<CG, kPixels>(x_img, wp.data(), b, y_row, res_row, relu, s, g, oh, ow, cb, kh_lo,
                                                kh_hi, 0, g.KW);
            for (; ow < g.OW; ++ow) one(ow);
        }
}

template <int CG>
void backward_data_impl(const float* gy, const float* w, float* gx, const ConvGeometry& g) {
    const int64_t C = g.C, blocks = C / kLanes;
    const std::vector<float> wp = arrange_weights<CG>(w, g, true);
    const Spread<CG> s;
    // For input column iw, the taps kw that read it and the output column each comes from
    // (iw + pw - kw*dw = ow*sw), listed once per column instead of divided out per channel block.
    std::vector<int64_t> col_taps(static_cast<size_t>(g.W * g.KW * 2)), col_count(static_cast<size_t>(g.W));
    for (int64_t iw = 0; iw < g.W; ++iw) {
        int64_t k = 0;
        for (int64_t kw = 0; kw < g.KW; ++kw) {
            const int64_t u = iw + g.pw - kw * g.dw;
            if (u < 0 || u % g.sw != 0 || u / g.sw >= g.OW) continue;
            col_taps[(iw * g.KW + k) * 2] = kw;
            col_taps[(iw * g.KW + k) * 2 + 1] = u / g.sw;
            ++k;
        }
        col_count[iw] = k;
    }
#pragma omp parallel for collapse(2) schedule(static) if (threaded(g))
    for (int64_t n = 0; n < g.N; ++n)
        for (int64_t ih = 0; ih < g.H; ++ih) {
            int64_t row_kh[16], row_oh[16], rows = 0;  // kernel rows reading ih (KH <= 16 checked)
            for (int64_t kh = 0; kh < g.KH; ++kh) {
                const int64_t t = ih + g.ph - kh * g.dh;  // oh * sh, when tap kh reads ih
                if (t < 0 || t % g.sh != 0 || t / g.sh >= g.OH) continue;
                row_kh[rows] = kh;
                row_oh[rows++] = t / g.sh;
            }
            for (int64_t iw = 0; iw < g.W; ++iw) {
                float* out = gx + ((n * g.H + ih) * g.W + iw) * C;
                const int64_t* taps = col_taps.data() + iw * g.KW * 2;
                for (int64_t cb = 0; cb < blocks; ++cb) {
                    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                                     _mm512_setzero_ps()};
                    for (int64_t r = 0; r < rows; ++r) {
                        const float* row = gy + (n * g.OH + row_oh[r]) * g.OW * C + cb * kLanes;
                        for (int64_t k = 0; k < col_count[iw]; ++k) {
                            const int64_t kw = taps[2 * k], ow = taps[2 * k + 1];
                            const __m512 v = _mm512_loadu_ps(row + ow * C);
                            const float* wt = wp.data() + (row_kh[r] * g.KW + kw) * CG * C + cb * kLanes;
                            for (int o = 0; o < CG; ++o)
                                acc[o % 4] = _mm512_fmadd_ps(spread(s, o, v), _mm512_loadu_ps(wt + o * C),
                                                             acc[o % 4]);
                        }
                    }
                    _mm512_storeu_ps(out + cb * kLanes, sum4(acc));
                }
            }
        }
}

template <int CG>
void backward_weights_impl(const float* gy, const float* x, float* gw, float* gb,
                           const ConvGeometry& g) {
    const int64_t C = g.C, blocks = C / kLanes, taps = g.KH * g.KW;
    const int64_t rows = g.N * g.OH, chunks = std::min(kWeightChunks, rows);
    // Partial sums of chunk k: [tap][i][C] weight lanes, then C bias lanes.
    const int64_t width = taps * CG * C + C;
    Tensor partial = empty({chunks * width}, DType::Float32);
    float* part = partial.data<float>();
    const Spread<CG> s;
#pragma omp parallel for schedule(static) if (threaded(g))
    for (int64_t k = 0; k < chunks; ++k) {
        float* acc = part + k * width;
        std::fill(acc, acc + width, 0.f);
        for (int64_t r = k * rows / chunks; r < (k + 1) * rows / chunks; ++r) {
            const int64_t n = r / g.OH, oh = r % g.OH;
            const float* dy_row = gy + r * g.OW * C;
            int64_t kh_lo, kh_hi;
            tap_range(oh, g.sh, g.ph, g.dh, g.KH, g.H, kh_lo, kh_hi);
            for (int64_t cb = 0; cb < blocks; ++cb) {
                const float* dy = dy_row + cb * kLanes;
                if (gb) {
                    __m512 sb = _mm512_loadu_ps(acc + taps * CG * C + cb * kLanes);
                    for (int64_t ow = 0; ow < g.OW; ++ow) sb = _mm512_add_ps(sb, _mm512_loadu_ps(dy + ow * C));
                    _mm512_storeu_ps(acc + taps * CG * C + cb * kLanes, sb);
                }
                for (int64_t kh = kh_lo; kh < kh_hi; ++kh) {
                    const float* x_row = x + (n * g.H + oh * g.sh - g.ph + kh * g.dh) * g.W * C + cb * kLanes;
                    for (int64_t kw = 0; kw < g.KW; ++kw) {
                        const int64_t shift = kw * g.dw - g.pw;  // iw = ow * sw + shift
                        int64_t lo, hi;
                        output_range(shift, g.sw, g.W, g.OW, lo, hi);
                        if (lo >= hi) continue;
                        float* a = acc + (kh * g.KW + kw) * CG * C + cb * kLanes;
                        __m512 sum[CG];
                        for (int i = 0; i < CG; ++i) sum[i] = _mm512_loadu_ps(a + i * C);
                        for (int64_t ow = lo; ow < hi; ++ow) {
                            const __m512 d = _mm512_loadu_ps(dy + ow * C);
                            const __m512 v = _mm512_loadu_ps(x_row + (ow * g.sw + shift) * C);
                            for (int i = 0; i < CG; ++i)
                                sum[i] = _mm512_fmadd_ps(d, spread(s, i, v), sum[i]);
                        }
                        for (int i = 0; i < CG; ++i) _mm512_storeu_ps(a + i * C, sum[i]);
                    }
                }
            }
        }
    }
    // Chunks in order, then scattered to [O][CG][KH][KW] and the bias.
#pragma omp parallel for schedule(static) if (chunks * width >= kParallelGrain)
    for (int64_t e = 0; e < width; ++e) {
        float total = 0.f;
        for (int64_t k = 0; k < chunks; ++k) total += part[k * width + e];
        if (e < taps * CG * C) {
            const int64_t c = e % C, i = e / C % CG, tap = e / C / CG;
            gw[(c * CG + i) * taps + tap] = total;
        } else if (gb) {
            gb[e - taps * CG * C] = total;
        }
    }
}

}  // namespace

bool supports(const ConvGeometry& g);

static void check_supported(const ConvGeometry& g) {
    check<ValueError>(supports(g),
                      "grouped_conv_cl: needs channels-last maps with the same 4 or 8 channels per "
                      "group in and out and a multiple of 16 channels; got ",
                      g.channels_last ? "channels-last" : "NCHW", " C=", g.C, " O=", g.O,
                      " groups=", g.G);
}

bool supports(const ConvGeometry& g) {
    return g.channels_last && g.G > 1 && g.cg() == g.og() && (g.cg() == 4 || g.cg() == 8) &&
           g.C % kLanes == 0 && g.KH <= 16;
}

void forward(const float* x, const float* w, const float* b, float* y, const ConvGeometry& g,
             const float* residual, bool relu) {
    check_supported(g);
    if (g.cg() == 4) return forward_impl<4>(x, w, b, y, g, residual, relu);
    forward_impl<8>(x, w, b, y, g, residual, relu);
}

void backward_data(const float* grad_y, const float* w, float* grad_x, const ConvGeometry& g) {
    check_supported(g);
    if (g.cg() == 4) return backward_data_impl<4>(grad_y, w, grad_x, g);
    backward_data_impl<8>(grad_y, w, grad_x, g);
}

void backward_weights(const float* grad_y, const float* x, float* grad_w, float* grad_b,
                      const ConvGeometry& g) {
    check_supported(g);
    if (g.cg() == 4) return backward_weights_impl<4>(grad_y, x, grad_w, grad_b, g);
    backward_weights_impl<8>(grad_y, x, grad_w, grad_b, g);
}

#else  // no AVX-512 in this build: oneDNN runs these convolutions

bool supports(const ConvGeometry&) { return false; }

void forward(const float*, const float*, const float*, float*, const ConvGeometry&, const float*,
             bool) {
    throw Error("grouped_conv_cl: this build has no AVX-512 kernels");
}
void backward_data(const float*, const float*, float*, const ConvGeometry&) {
    throw Error("grouped_conv_cl: this build has no AVX-512 kernels");
}
void backward_weights(const float*, const float*, float*, float*, const ConvGeometry&) {
    throw Error("grouped_conv_cl: this build has no AVX-512 kernels");
}

#endif

}  // namespace cardinal::grouped_conv_cl
