// Batch normalisation of x [N, C, H, W], one set of statistics per channel c over the
// n = N*H*W values of that channel.
//
// Forward, training:
//   mean_c = (1/n) sum x,   var_c = (1/n) sum (x - mean_c)^2        (biased)
//   rstd_c = 1 / sqrt(var_c + eps),   xhat = (x - mean_c) * rstd_c,   y = w_c * xhat + b_c
//   running_mean_c <- (1 - m) running_mean_c + m mean_c
//   running_var_c  <- (1 - m) running_var_c  + m var_c * n / (n - 1)   (unbiased, as PyTorch)
// Forward, eval: mean_c and var_c are the running statistics; nothing is updated.
// Without affine parameters w_c = 1 and b_c = 0.
//
// Backward, with g = dL/dy and sums over the n values of channel c:
//   S_g  = sum g,   S_gx = sum g * xhat
//   grad_b_c = S_g,   grad_w_c = S_gx
//   training: grad_x = w_c rstd_c / n * (n g - S_g - xhat S_gx)   (mean and var depend on x)
//   eval:     grad_x = w_c rstd_c g                                (the statistics are constants)
// Both are computed as grad_x = a_c g + b_c (x - mean_c) + k_c with per-channel a, b, k, so the
// inner loop is a single contiguous multiply-add stream over each H*W plane.
//
// Synchronised (sync_batch_norm2d), replica r holding n_r of the n = sum n_r values: the
// replicas sum n_r and n_r mean_r, giving the global mean M, then
//   sum_r [n_r var_r + n_r (mean_r - M)^2] = n var                    (Chan et al.'s combination)
// which adds non-negative terms, each computed around its own mean: no cancellation. In
// backward replica r's g is the gradient of its own mean loss; the global loss is
// sum_r (n_r / n) L_r, and the combined gradient weights replica r's by n_r / n (GradSync), so
// replica r must produce (n / n_r) times its part of the global gradient. That is
//   grad_x = w_c rstd_c (g - S'_g / (n n_r) - xhat S'_gx / (n n_r)),   S'_. = sum_r n_r S_.,r
// (with one replica it is the formula above); grad_w and grad_b stay the local sums.
//
// Fused ReLU (batch_norm2d_relu): y = max(w_c * xhat + b_c, 0), and the backward first masks
// g by [y > 0] (read from the saved output, so exactly the forward's decision), inside the same
// two sweeps: a BatchNorm followed by a ReLU costs the passes of the BatchNorm alone.
//
// Layouts: a contiguous (NCHW) input is walked plane by plane, one channel per plane. A
// channels-last (NHWC) input is a matrix of M = N*H*W pixel rows by C channels; its kernels
// (the `_cl` ones) sweep rows of several pixels, vectorised along them, and the per-channel sums are
// taken over fixed chunks of rows, added in chunk order, so the result does not depend on the
// thread count. The output and grad_x keep the input's layout.
#include "ops/batch_norm.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "autograd/function.h"
#include "tensor/memory_format.h"
#include "tensor/parallel.h"

namespace cardinal {
namespace {

struct BatchNorm2dBackward : Node {
    Tensor saved_x_, saved_weight_;  // weight may be undefined (no affine)
    Tensor saved_y_;                 // the output, with the fused ReLU only (its mask)
    std::vector<double> saved_mean_, saved_rstd_;
    bool training_ = true;
    std::shared_ptr<const ReplicaSum> sync_;  // synchronised: sums over the replicas
    double n_total_ = 0;                       // synchronised: the values per channel of all replicas
    std::string name() const override {
        return saved_y_.defined() ? "BatchNorm2dReluBackward" : "BatchNorm2dBackward";
    }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override;
    void release() override {
        saved_x_ = saved_weight_ = saved_y_ = Tensor();
        sync_.reset();
        saved_mean_.clear();
        saved_rstd_.clear();
    }
    size_t saved_bytes() const override {
        return saved_bytes_of(saved_x_) + saved_bytes_of(saved_weight_) + saved_bytes_of(saved_y_) +
               (saved_mean_.size() + saved_rstd_.size()) * sizeof(double);
    }
};

// g, or with the fused ReLU g masked by its output (y > 0). A template flag, so that the loops
// without the ReLU stay exactly as vectorised as before.
template <bool Relu, typename T>
inline T masked(const T* g, const T* y, int64_t i) {
    const T gi = g[i];  // both loads unconditional, so the select vectorises (a blend)
    if constexpr (Relu) {
        const T yi = y[i];
        return yi > T(0) ? gi : T(0);
    }
    return gi;
}

// Sum of p[0..n) accumulated in double (contiguous, vectorised).
template <typename T>
double plane_sum(const T* p, int64_t n) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) s += p[i];
    return s;
}

// Per-channel mean and biased variance (two passes: the second around the exact mean).
template <typename T>
void channel_moments(const T* x, int64_t N, int64_t C, int64_t HW, std::vector<double>& mean,
                     std::vector<double>& var) {
    const double n = static_cast<double>(N * HW);
#pragma omp parallel for schedule(static) if (N * C * HW >= kParallelGrain)
    for (int64_t c = 0; c < C; ++c) {
        double s = 0;
        for (int64_t b = 0; b < N; ++b) s += plane_sum(x + (b * C + c) * HW, HW);
        const double m = s / n;
        const T mt = static_cast<T>(m);
        double sq = 0, shift = 0;  // shift corrects for rounding m to T
        for (int64_t b = 0; b < N; ++b) {
            const T* p = x + (b * C + c) * HW;
#pragma omp simd reduction(+ : sq, shift)
            for (int64_t i = 0; i < HW; ++i) {
                const double d = static_cast<double>(p[i] - mt);
                sq += d * d;
                shift += d;
            }
        }
        mean[c] = m;
        var[c] = std::max(0.0, sq / n - (shift / n) * (shift / n));
    }
}

// y = (x - mean_c) * scale_c + shift_c over every plane.
template <typename T>
void normalize(const T* x, T* y, int64_t N, int64_t C, int64_t HW, const std::vector<double>& mean,
               const std::vector<double>& scale, const std::vector<double>& shift, bool relu) {
#pragma omp parallel for schedule(static) if (N * C * HW >= kParallelGrain)
    for (int64_t plane = 0; plane < N * C; ++plane) {
        const int64_t c = plane % C;
        const T m = static_cast<T>(mean[c]), a = static_cast<T>(scale[c]);
        const T k = static_cast<T>(shift[c]);
        const T* p = x + plane * HW;
        T* q = y + plane * HW;
#pragma omp simd
        for (int64_t i = 0; i < HW; ++i) q[i] = (p[i] - m) * a + k;
        if (relu) {
#pragma omp simd
            for (int64_t i = 0; i < HW; ++i) q[i] = std::max(q[i], T(0));  // still in cache
        }
    }
}

// ---- channels-last kernels: x is [M, C] row-major ----
//
// The kernels see the [M, C] pixel matrix as rows of `lanes` = k * C values, k pixels each, so
// their vector loops run over at least kMinLanes values even for the 8- and 16-channel maps of
// small networks (a loop of 8 floats fills half a vector and is mostly loop overhead). Per-channel
// constants are tiled k times to match; the last M % k pixels form a tail of one-pixel rows,
// which read the first C values of the same tiled constants.
constexpr int64_t kMinLanes = 64;

struct PixelTiles {
    int64_t C, k, lanes, rows, tail;  // `rows` rows of `lanes` values, then `tail` rows of C values
    PixelTiles(int64_t M, int64_t channels)
        : C(channels),
          k(channels >= kMinLanes || channels == 0 ? 1 : (kMinLanes + channels - 1) / channels),
          lanes(k * channels),
          rows(M / k),
          tail(M % k) {}
    int64_t tail_offset() const { return rows * lanes; }  // element offset of the tail's first row
};

// per_channel[c], tiled to t.lanes values (cast to T).
template <typename T, typename V>
std::vector<T> tiled(const std::vector<V>& per_channel, const PixelTiles& t) {
    std::vector<T> out(static_cast<size_t>(t.lanes));
    for (int64_t j = 0; j < t.lanes; ++j) out[j] = static_cast<T>(per_channel[j % t.C]);
    return out;
}

// Runs row(offset, lanes) over every row of the tiling (offset in elements), in parallel.
template <typename Row>
void for_each_tile_row(const PixelTiles& t, Row&& row) {
#pragma omp parallel for schedule(static) if (t.rows * t.lanes >= kParallelGrain)
    for (int64_t r = 0; r < t.rows; ++r) row(r * t.lanes, t.lanes);
    for (int64_t r = 0; r < t.tail; ++r) row(t.tail_offset() + r * t.C, t.C);
}

// Rows [begin, end) of chunk k of M rows split into `chunks` equal parts.
constexpr int64_t kRowChunks = 64;
inline int64_t chunk_begin(int64_t k, int64_t M, int64_t chunks) { return k * M / chunks; }

// `width` per-channel sums (width * C doubles, sum w of channel c at w * C + c).
// visit(offset, lanes, acc) adds one row's contributions into acc, laid out as width blocks of
// t.lanes lanes. Rows are summed per fixed chunk, the tail last, and the chunks, then the k
// pixels of a lane block, are added in order: the result does not depend on the thread count.
template <typename Visit>
std::vector<double> chunked_channel_sums(const PixelTiles& t, int64_t width, Visit&& visit) {
    const int64_t chunks = std::min<int64_t>(kRowChunks, std::max<int64_t>(t.rows, 1));
    const int64_t block = width * t.lanes;
    std::vector<double> part(static_cast<size_t>((chunks + 1) * block), 0.0);
#pragma omp parallel for schedule(static) if (t.rows * t.lanes >= kParallelGrain)
    for (int64_t k = 0; k < chunks; ++k) {
        double* acc = part.data() + k * block;
        for (int64_t r = chunk_begin(k, t.rows, chunks); r < chunk_begin(k + 1, t.rows, chunks); ++r)
            visit(r * t.lanes, t.lanes, acc);
    }
    double* tail_acc = part.data() + chunks * block;
    for (int64_t r = 0; r < t.tail; ++r) visit(t.tail_offset() + r * t.C, t.C, tail_acc);
    std::vector<double> lanes(static_cast<size_t>(block), 0.0);
    for (int64_t k = 0; k <= chunks; ++k)
        for (int64_t i = 0; i < block; ++i) lanes[i] += part[k * block + i];
    std::vector<double> total(static_cast<size_t>(width * t.C), 0.0);
    for (int64_t w = 0; w < width; ++w)
        for (int64_t j = 0; j < t.lanes; ++j) total[w * t.C + j % t.C] += lanes[w * t.lanes + j];
    return total;
}

// The float32 fast path of chunked_channel_sums for rows of exactly L lanes (L = 64 or 128: the
// maps of 8 to 128 channels): Q sums per lane, accumulated in float registers over blocks of
// kBlockRows rows, each block's sums then added in double, blocks in order. Float partials of 64
// rows keep the error near float rounding; per-value double arithmetic (the generic path) was
// the cost: 1.3-2x slower. body(row_offset, acc) adds one row into acc[Q][L]. Returns
// Q * C per-channel sums, the tail rows (visit_tail(offset, lanes, acc), double) included.
template <int64_t L, int Q, typename Body, typename Tail>
std::vector<double> float_lane_sums(const PixelTiles& t, Body&& body, Tail&& visit_tail) {
    constexpr int64_t kBlockRows = 64;
    const int64_t blocks = (t.rows + kBlockRows - 1) / kBlockRows;
    std::vector<double> part(static_cast<size_t>((blocks + 1) * Q * L), 0.0);
#pragma omp parallel for schedule(static) if (t.rows * L >= kParallelGrain)
    for (int64_t b = 0; b < blocks; ++b) {
        float acc[Q][L] = {};
        const int64_t end = std::min(t.rows, (b + 1) * kBlockRows);
        for (int64_t r = b * kBlockRows; r < end; ++r) body(r * L, acc);
        double* out = part.data() + b * Q * L;
        for (int q = 0; q < Q; ++q)
            for (int64_t j = 0; j < L; ++j) out[q * L + j] = acc[q][j];
    }
    double* tail_acc = part.data() + blocks * Q * L;  // laid out as Q blocks of L lanes
    for (int64_t r = 0; r < t.tail; ++r) visit_tail(t.tail_offset() + r * t.C, t.C, tail_acc);
    std::vector<double> lanes(static_cast<size_t>(Q * L), 0.0);
    for (int64_t b = 0; b <= blocks; ++b)
        for (int64_t i = 0; i < Q * L; ++i) lanes[i] += part[b * Q * L + i];
    std::vector<double> total(static_cast<size_t>(Q * t.C), 0.0);
    for (int q = 0; q < Q; ++q)
        for (int64_t j = 0; j < L; ++j) total[q * t.C + j % t.C] += lanes[q * L + j];
    return total;
}

// float_lane_sums for the tiling's row width when it has a fast path (64 or 128 lanes); empty
// otherwise. body(row_offset, acc) is generic over acc's float[Q][L].
template <int Q, typename Body, typename Tail>
std::vector<double> float_lane_sums_of(const PixelTiles& t, Body&& body, Tail&& visit_tail) {
    if (t.lanes == 64) return float_lane_sums<64, Q>(t, body, visit_tail);
    if (t.lanes == 128) return float_lane_sums<128, Q>(t, body, visit_tail);
    return {};
}

template <typename T>
void channel_moments_cl(const T* x, int64_t M, int64_t C, std::vector<double>& mean,
                        std::vector<double>& var) {
    const double n = static_cast<double>(M);
    const PixelTiles t(M, C);
    if constexpr (std::is_same_v<T, float>) {
        if (t.lanes == 64 || t.lanes == 128) {
            // One pass over x - shift_c, shift_c the channel's first value: the sums then stay
            // small whatever the mean, so float partials lose nothing to cancellation.
            std::vector<double> first(static_cast<size_t>(C));
            for (int64_t c = 0; c < C; ++c) first[c] = x[c];
            const std::vector<T> sh = tiled<T>(first, t);
            auto tail = [&](int64_t off, int64_t lanes, double* acc) {
                for (int64_t j = 0; j < lanes; ++j) {
                    const double d = static_cast<double>(x[off + j]) - sh[j];
                    acc[j] += d;
                    acc[t.lanes + j] += d * d;
                }
            };
            auto finish = [&](const std::vector<double>& q) {
                for (int64_t c = 0; c < C; ++c) {
                    const double m = q[c] / n;
                    mean[c] = first[c] + m;
                    var[c] = std::max(0.0, q[C + c] / n - m * m);
                }
            };
            finish(float_lane_sums_of<2>(t, [&](int64_t off, auto& acc) {
                constexpr int64_t L = std::extent_v<std::remove_reference_t<decltype(acc[0])>>;
                const T* row = x + off;
#pragma omp simd
                for (int64_t j = 0; j < L; ++j) {
                    const float d = row[j] - sh[j];
                    acc[0][j] += d;
                    acc[1][j] += d * d;
                }
            }, tail));
            return;
        }
        // One pass: sums of x and x^2 in double. The cancellation in E[x^2] - E[x]^2 costs
        // log10(mean^2 / var) of double's 16 digits, far below float's 7 even for |mean| = 1000
        // sigma; the float64 path keeps the two passes, which it needs for full precision.
        const std::vector<double> q = chunked_channel_sums(t, 2, [&](int64_t off, int64_t lanes, double* acc) {
            const T* row = x + off;
            double* sq = acc + t.lanes;
#pragma omp simd
            for (int64_t j = 0; j < lanes; ++j) {
                const double v = row[j];
                acc[j] += v;
                sq[j] += v * v;
            }
        });
        for (int64_t c = 0; c < C; ++c) {
            mean[c] = q[c] / n;
            var[c] = std::max(0.0, q[C + c] / n - mean[c] * mean[c]);
        }
        return;
    }
    const std::vector<double> s = chunked_channel_sums(t, 1, [&](int64_t off, int64_t lanes, double* acc) {
        const T* row = x + off;
#pragma omp simd
        for (int64_t j = 0; j < lanes; ++j) acc[j] += row[j];
    });
    for (int64_t c = 0; c < C; ++c) mean[c] = s[c] / n;
    const std::vector<T> mt = tiled<T>(mean, t);
    // Second pass around the mean; `shift` corrects for rounding the mean to T.
    const std::vector<double> q = chunked_channel_sums(t, 2, [&](int64_t off, int64_t lanes, double* acc) {
        const T* row = x + off;
        double* sq = acc;
        double* shift = acc + t.lanes;
#pragma omp simd
        for (int64_t j = 0; j < lanes; ++j) {
            const double d = static_cast<double>(row[j] - mt[j]);
            sq[j] += d * d;
            shift[j] += d;
        }
    });
    for (int64_t c = 0; c < C; ++c) {
        const double sh = q[C + c] / n;
        var[c] = std::max(0.0, q[c] / n - sh * sh);
    }
}

template <typename T>
void normalize_cl(const T* x, T* y, int64_t M, int64_t C, const std::vector<double>& mean,
                  const std::vector<double>& scale, const std::vector<double>& shift, bool relu) {
    const PixelTiles t(M, C);
    const std::vector<T> m = tiled<T>(mean, t), a = tiled<T>(scale, t), k = tiled<T>(shift, t);
    for_each_tile_row(t, [&](int64_t off, int64_t lanes) {
        const T* p = x + off;
        T* q = y + off;
#pragma omp simd
        for (int64_t j = 0; j < lanes; ++j) q[j] = (p[j] - m[j]) * a[j] + k[j];
        if (relu) {
#pragma omp simd
            for (int64_t j = 0; j < lanes; ++j) q[j] = std::max(q[j], T(0));
        }
    });
}

// This replica's mean and biased variance over its n_local values -> the global ones (header).
void combine_across_replicas(const ReplicaSum& sum, double n_local, std::vector<double>& mean,
                             std::vector<double>& var, double& n_total) {
    const int64_t C = static_cast<int64_t>(mean.size());
    std::vector<double> s(static_cast<size_t>(C + 1));
    s[0] = n_local;
    for (int64_t c = 0; c < C; ++c) s[c + 1] = n_local * mean[c];
    sum(s.data(), C + 1);
    n_total = s[0];
    check<ValueError>(n_total > 1, "sync_batch_norm2d: expected more than 1 value per channel over all "
                                   "replicas when training, got ", n_total);
    std::vector<double> m2(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
        const double d = mean[c] - s[c + 1] / n_total;
        m2[c] = n_local * var[c] + n_local * d * d;
    }
    sum(m2.data(), C);
    for (int64_t c = 0; c < C; ++c) {
        mean[c] = s[c + 1] / n_total;
        var[c] = m2[c] / n_total;
    }
}

template <typename T>
T param(const Tensor& t, int64_t c, T fallback) {
    return t.defined() ? t.data<T>()[c * t.stride(0)] : fallback;
}

template <typename T>
Tensor forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& rm,
               const Tensor& rv, bool training, double momentum, double eps, bool relu,
               const ReplicaSum* sync, std::vector<double>& mean, std::vector<double>& rstd,
               double& n_total) {
    const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
    const bool cl = memory_format_of(x) == MemoryFormat::ChannelsLast;
    const T* xp = x.data<T>();
    std::vector<double> var(C);
    mean.assign(C, 0.0);
    n_total = static_cast<double>(N * HW);
    if (training) {
        if (N * HW == 0)  // an empty shard of a synchronised batch norm
            var.assign(C, 0.0);
        else if (cl)
            channel_moments_cl(xp, N * HW, C, mean, var);
        else
            channel_moments(xp, N, C, HW, mean, var);
        if (sync) combine_across_replicas(*sync, static_cast<double>(N * HW), mean, var, n_total);
        if (rm.defined()) {  // in place and unrecorded: running stats are buffers, not inputs
            const double n = n_total;
            rm.storage()->bump_version();
            rv.storage()->bump_version();
            T* rmp = rm.data<T>();
            T* rvp = rv.data<T>();
            for (int64_t c = 0; c < C; ++c) {
                T& m_ref = rmp[c * rm.stride(0)];
                T& v_ref = rvp[c * rv.stride(0)];
                m_ref = static_cast<T>((1 - momentum) * m_ref + momentum * mean[c]);
                v_ref = static_cast<T>((1 - momentum) * v_ref + momentum * var[c] * n / (n - 1));
            }
        }
    } else {
        for (int64_t c = 0; c < C; ++c) {
            mean[c] = rm.data<T>()[c * rm.stride(0)];
            var[c] = rv.data<T>()[c * rv.stride(0)];
        }
    }
    rstd.resize(C);
    std::vector<double> scale(C), shift(C);
    for (int64_t c = 0; c < C; ++c) {
        rstd[c] = 1.0 / std::sqrt(var[c] + eps);
        scale[c] = param<T>(weight, c, T(1)) * rstd[c];
        shift[c] = param<T>(bias, c, T(0));
    }
    Tensor y = empty(x.shape(), x.dtype(), memory_format_of(x));
    if (cl)
        normalize_cl(xp, y.data<T>(), N * HW, C, mean, scale, shift, relu);
    else
        normalize(xp, y.data<T>(), N, C, HW, mean, scale, shift, relu);
    return y;
}

template <typename T, bool Relu>
std::vector<Tensor> backward(const BatchNorm2dBackward& node, const Tensor& grad_y) {
    const Tensor& x = node.saved_x_;
    const MemoryFormat format = memory_format_of(x);
    const bool cl = format == MemoryFormat::ChannelsLast;
    const Tensor g = to_memory_format(grad_y, format);
    const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
    const double n = static_cast<double>(N * HW);
    const T* xp = x.data<T>();
    const T* gp = g.data<T>();
    const Tensor y = node.saved_y_.defined() ? to_memory_format(node.saved_y_, format) : Tensor();
    const T* yp = y.defined() ? y.data<T>() : nullptr;
    const auto& mean = node.saved_mean_;
    const auto& rstd = node.saved_rstd_;

    // S_g and S_gx per channel (eval grad_x does not need them).
    std::vector<double> s_g(C), s_gx(C);
    const bool need_sums = node.training_ || node.needs_input_grad(1) || node.needs_input_grad(2);
    if (cl && need_sums) {
        const PixelTiles t(N * HW, C);
        const std::vector<T> mt = tiled<T>(mean, t);
        std::vector<double> s;
        if constexpr (std::is_same_v<T, float>) {
            // S_g and S_g(x - mean) in float blocks (float_lane_sums), when the rows fit.
            auto body = [&](int64_t off, auto& acc) {
                constexpr int64_t L = std::extent_v<std::remove_reference_t<decltype(acc[0])>>;
                const T* xq = xp + off;
                const T* gq = gp + off;
                const T* yq = Relu ? yp + off : nullptr;
#pragma omp simd
                for (int64_t j = 0; j < L; ++j) {
                    const float gv = masked<Relu>(gq, yq, j);
                    acc[0][j] += gv;
                    acc[1][j] += gv * (xq[j] - mt[j]);
                }
            };
            auto tail = [&](int64_t off, int64_t lanes, double* acc) {
                for (int64_t j = 0; j < lanes; ++j) {
                    const double gv = masked<Relu>(gp + off, Relu ? yp + off : nullptr, j);
                    acc[j] += gv;
                    acc[t.lanes + j] += gv * static_cast<double>(xp[off + j] - mt[j]);
                }
            };
            s = float_lane_sums_of<2>(t, body, tail);
        }
        if (s.empty()) s = chunked_channel_sums(t, 2, [&](int64_t off, int64_t lanes, double* acc) {
            const T* xq = xp + off;
            const T* gq = gp + off;
            if constexpr (Relu) {
                // The masked row first, in a loop of its own: fused into the double sums below,
                // the select kept the compiler from vectorising (measured 5x slower).
                thread_local std::vector<T> row;
                row.resize(static_cast<size_t>(lanes));
                const T* yq = yp + off;
#pragma omp simd
                for (int64_t j = 0; j < lanes; ++j) row[j] = masked<true>(gq, yq, j);
                gq = row.data();
            }
            double* sgx = acc + t.lanes;
#pragma omp simd
            for (int64_t j = 0; j < lanes; ++j) {
                acc[j] += gq[j];
                sgx[j] += static_cast<double>(gq[j]) * static_cast<double>(xq[j] - mt[j]);
            }
        });
        for (int64_t c = 0; c < C; ++c) {
            s_g[c] = s[c];
            s_gx[c] = s[C + c] * rstd[c];
        }
    }
#pragma omp parallel for schedule(static) if (need_sums && N * C * HW >= kParallelGrain)
    for (int64_t c = 0; c < (need_sums && !cl ? C : 0); ++c) {
        const T m = static_cast<T>(mean[c]);
        double sg = 0, sgd = 0;
        for (int64_t b = 0; b < N; ++b) {
            const T* xq = xp + (b * C + c) * HW;
            const T* gq = gp + (b * C + c) * HW;
            const T* yq = yp ? yp + (b * C + c) * HW : nullptr;
#pragma omp simd reduction(+ : sg, sgd)
            for (int64_t i = 0; i < HW; ++i) {
                const T gv = masked<Relu>(gq, yq, i);
                sg += gv;
                sgd += static_cast<double>(gv) * static_cast<double>(xq[i] - m);
            }
        }
        s_g[c] = sg;
        s_gx[c] = sgd * rstd[c];
    }

    // grad_x subtracts sum_g / denom and xhat sum_gx / denom: the local sums over n, or when
    // synchronised S'_. over n n_r (header).
    std::vector<double> sum_g = s_g, sum_gx = s_gx;
    double denom = n;
    if (node.sync_ && node.training_) {
        std::vector<double> s(static_cast<size_t>(2 * C));
        for (int64_t c = 0; c < C; ++c) {
            s[c] = n * s_g[c];
            s[C + c] = n * s_gx[c];
        }
        (*node.sync_)(s.data(), 2 * C);
        for (int64_t c = 0; c < C; ++c) {
            sum_g[c] = s[c];
            sum_gx[c] = s[C + c];
        }
        denom = node.n_total_ * n;  // n: this replica's values (0 for an empty shard: no grad_x)
    }
    Tensor grad_x, grad_w, grad_b;
    if (node.needs_input_grad(0)) {
        std::vector<double> a(C), bcoef(C), k(C);
        for (int64_t c = 0; c < C; ++c) {
            const double w = param<T>(node.saved_weight_, c, T(1));
            a[c] = w * rstd[c];
            bcoef[c] = node.training_ && denom > 0 ? -a[c] * rstd[c] * sum_gx[c] / denom : 0.0;
            k[c] = node.training_ && denom > 0 ? -a[c] * sum_g[c] / denom : 0.0;
        }
        grad_x = empty(x.shape(), x.dtype(), format);
        T* dx = grad_x.data<T>();
        if (cl) {
            const PixelTiles t(N * HW, C);
            const std::vector<T> m = tiled<T>(mean, t), ac = tiled<T>(a, t), bc = tiled<T>(bcoef, t),
                                 kc = tiled<T>(k, t);
            for_each_tile_row(t, [&](int64_t off, int64_t lanes) {
                const T* xq = xp + off;
                const T* gq = gp + off;
                const T* yq = yp ? yp + off : nullptr;
                T* dq = dx + off;
#pragma omp simd
                for (int64_t j = 0; j < lanes; ++j)
                    dq[j] = ac[j] * masked<Relu>(gq, yq, j) + bc[j] * (xq[j] - m[j]) + kc[j];
            });
        }
#pragma omp parallel for schedule(static) if (N * C * HW >= kParallelGrain)
        for (int64_t plane = 0; plane < (cl ? 0 : N * C); ++plane) {
            const int64_t c = plane % C;
            const T m = static_cast<T>(mean[c]), ac = static_cast<T>(a[c]);
            const T bc = static_cast<T>(bcoef[c]), kc = static_cast<T>(k[c]);
            const T* xq = xp + plane * HW;
            const T* gq = gp + plane * HW;
            const T* yq = yp ? yp + plane * HW : nullptr;
            T* dq = dx + plane * HW;
#pragma omp simd
            for (int64_t i = 0; i < HW; ++i) dq[i] = ac * masked<Relu>(gq, yq, i) + bc * (xq[i] - m) + kc;
        }
    }
    if (node.needs_input_grad(1)) {
        grad_w = empty({C}, x.dtype());
        for (int64_t c = 0; c < C; ++c) grad_w.data<T>()[c] = static_cast<T>(s_gx[c]);
    }
    if (node.needs_input_grad(2)) {
        grad_b = empty({C}, x.dtype());
        for (int64_t c = 0; c < C; ++c) grad_b.data<T>()[c] = static_cast<T>(s_g[c]);
    }
    return {grad_x, grad_w, grad_b};
}

std::vector<Tensor> BatchNorm2dBackward::apply(std::vector<Tensor>&& g) {
    return dispatch_floating(saved_x_.dtype(), "batch_norm2d backward",
                             [&](auto tag) {
                                 using T = decltype(tag);
                                 return saved_y_.defined() ? backward<T, true>(*this, g[0])
                                                           : backward<T, false>(*this, g[0]);
                             });
}

void check_channel_tensor(const Tensor& t, const char* what, const Tensor& x) {
    if (!t.defined()) return;
    check<ShapeError>(t.dim() == 1 && t.size(0) == x.size(1), "batch_norm2d: ", what,
                      " must have shape [", x.size(1), "] for input ", shape_str(x.shape()),
                      ", got ", shape_str(t.shape()));
    check<DTypeError>(t.dtype() == x.dtype(), "batch_norm2d: ", what, " is ", dtype_name(t.dtype()),
                      " but the input is ", dtype_name(x.dtype()));
}

}  // namespace

static Tensor batch_norm2d_impl(const Tensor& x, const Tensor& weight, const Tensor& bias,
                         const Tensor& running_mean, const Tensor& running_var, bool training,
                         double momentum, double eps, bool relu,
                         std::shared_ptr<const ReplicaSum> sync = nullptr) {
    check<Error>(x.defined(), "batch_norm2d: the input is undefined");
    check<ShapeError>(x.dim() == 4, "batch_norm2d: expected a 4-d input [N, C, H, W], got ",
                      shape_str(x.shape()));
    check<DTypeError>(is_floating(x.dtype()),
                      "batch_norm2d: expected a float32 or float64 input, got ",
                      dtype_name(x.dtype()));
    check_channel_tensor(weight, "weight", x);
    check_channel_tensor(bias, "bias", x);
    check_channel_tensor(running_mean, "running_mean", x);
    check_channel_tensor(running_var, "running_var", x);
    check<ValueError>(running_mean.defined() == running_var.defined(),
                      "batch_norm2d: running_mean and running_var must be given together");
    check<ValueError>(training || running_mean.defined(),
                      "batch_norm2d: eval mode needs running_mean and running_var");
    check<ValueError>(eps >= 0 && std::isfinite(eps), "batch_norm2d: eps must be >= 0, got ", eps);
    check<ValueError>(momentum >= 0 && momentum <= 1,
                      "batch_norm2d: momentum must be in [0, 1], got ", momentum);
    if (training && !sync)  // synchronised: checked on the count over all replicas
        check<ValueError>(x.size(0) * x.size(2) * x.size(3) > 1,
                          "batch_norm2d: expected more than 1 value per channel when training, got "
                          "input of shape ",
                          shape_str(x.shape()));

    const Tensor xc = to_memory_format(x, suggest_memory_format(x));
    std::vector<double> mean, rstd;
    double n_total = 0;
    Tensor y = dispatch_floating(x.dtype(), "batch_norm2d", [&](auto tag) {
        return forward<decltype(tag)>(xc, weight, bias, running_mean, running_var, training,
                                      momentum, eps, relu, sync.get(), mean, rstd, n_total);
    });
    if (auto node = make_node<BatchNorm2dBackward>({x, weight, bias})) {
        node->saved_x_ = node->save(xc);
        node->saved_weight_ = node->save(weight);
        if (relu) node->saved_y_ = node->save(y);
        node->saved_mean_ = std::move(mean);
        node->saved_rstd_ = std::move(rstd);
        node->training_ = training;
        node->sync_ = std::move(sync);
        node->n_total_ = n_total;
        record(node, {y});
    }
    return y;
}

Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                    const Tensor& running_mean, const Tensor& running_var, bool training,
                    double momentum, double eps) {
    return batch_norm2d_impl(x, weight, bias, running_mean, running_var, training, momentum, eps,
                             false);
}

Tensor batch_norm2d_relu(const Tensor& x, const Tensor& weight, const Tensor& bias,
                         const Tensor& running_mean, const Tensor& running_var, bool training,
                         double momentum, double eps) {
    return batch_norm2d_impl(x, weight, bias, running_mean, running_var, training, momentum, eps,
                             true);
}

Tensor sync_batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                         const Tensor& running_mean, const Tensor& running_var,
                         std::shared_ptr<const ReplicaSum> sum, bool relu, double momentum,
                         double eps) {
    check<ValueError>(sum != nullptr && *sum, "sync_batch_norm2d: expected a replica sum, got none");
    return batch_norm2d_impl(x, weight, bias, running_mean, running_var, true, momentum, eps, relu,
                             std::move(sum));
}

}  // namespace cardinal
