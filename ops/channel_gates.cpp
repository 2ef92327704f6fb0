#include "ops/channel_gates.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "autograd/function.h"
#include "autograd/grad_mode.h"
#include "autograd/variable.h"
#include "ops/arithmetic.h"
#include "ops/mac_counter.h"
#include "ops/reduction.h"
#include "ops/shape_ops.h"
#include "tensor/memory_format.h"
#include "tensor/parallel.h"

namespace cardinal {
namespace {

// Pixels per partial sum of pool_sum: enough chunks to share a batch-1 map between threads, few
// enough that the partials stay small ([N, chunks, C] doubles).
constexpr int64_t kPoolChunk = 64;

std::atomic<int64_t> g_gated_sums{0};

// A pixel_major tensor as rows: element (n, c, pixel) at base + n * sample + pixel * pixel_step + c.
template <typename T>
struct Rows {
    const T* base;
    int64_t sample, pixel_step;
    const T* row(int64_t n, int64_t pixel) const { return base + n * sample + pixel * pixel_step; }
};

int64_t pixel_step_of(const Tensor& t) {
    if (t.size(3) > 1) return t.stride(3);
    return t.size(2) > 1 ? t.stride(2) : 0;
}

template <typename T>
Rows<T> rows_of(const Tensor& t) {
    return {t.data<T>(), t.size(0) > 1 ? t.stride(0) : 0, pixel_step_of(t)};
}

void check_inference(const Tensor& t, const char* op, const char* what) {
    check<Error>(!grad_mode_enabled() || !requires_grad(t), op, ": inference only (no gradient is recorded), but ",
                 what, " requires grad; use the differentiable ops or NoGradGuard");
}

// The paths of one gate: same shape and dtype, each pixel_major.
void check_paths(const std::vector<Tensor>& paths, const char* op) {
    check<ValueError>(!paths.empty(), op, ": needs at least one path");
    for (const Tensor& p : paths) {
        check<Error>(p.defined(), op, ": a path is undefined");
        check<ShapeError>(pixel_major(p), op, ": expected pixel-major [N, C, H, W] paths (channels-last or a channel ",
                          "slice of one), got ", describe(p), " with strides ", shape_str(p.strides()));
        check<ShapeError>(p.shape() == paths[0].shape() && p.dtype() == paths[0].dtype(), op,
                          ": paths must share shape and dtype, got ", describe(paths[0]), " and ", describe(p));
        check_inference(p, op, "a path");
    }
}

// out[n * width + i] = scale * sum_k part[(n * chunks + k) * width + i], chunks added in order:
// the per-chunk partial sums of the pool and of the gate's weight gradient, reduced the same way.
template <typename T>
void add_chunks(const std::vector<double>& part, int64_t N, int64_t chunks, int64_t width, double scale, T* out) {
    for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < width; ++i) {
            double total = 0;
            for (int64_t k = 0; k < chunks; ++k) total += part[(n * chunks + k) * width + i];
            out[n * width + i] = static_cast<T>(total * scale);
        }
}

template <typename T>
Tensor pool_sum_impl(const std::vector<Tensor>& paths) {
    const Tensor& x0 = paths[0];
    const int64_t N = x0.size(0), C = x0.size(1), HW = x0.size(2) * x0.size(3);
    const int64_t chunks = (HW + kPoolChunk - 1) / kPoolChunk;
    std::vector<Rows<T>> rows;
    for (const Tensor& p : paths) rows.push_back(rows_of<T>(p));
    std::vector<double> part(static_cast<size_t>(N * chunks * C), 0.0);
    const int64_t work = N * HW * C * static_cast<int64_t>(paths.size());
#pragma omp parallel for schedule(static) if (work >= kParallelGrain)
    for (int64_t task = 0; task < N * chunks; ++task) {
        const int64_t n = task / chunks, k = task % chunks;
        double* acc = part.data() + task * C;
        for (const Rows<T>& r : rows)
            for (int64_t px = k * kPoolChunk; px < std::min(HW, (k + 1) * kPoolChunk); ++px) {
                const T* in = r.row(n, px);
#pragma omp simd
                for (int64_t c = 0; c < C; ++c) acc[c] += in[c];
            }
    }
    Tensor s = empty({N, C}, x0.dtype());
    add_chunks(part, N, chunks, C, 1.0 / static_cast<double>(HW), s.data<T>());
    return s;
}

template <typename T>
Tensor gate_fc_impl(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups, bool relu) {
    const int64_t N = x.size(0), I = x.size(1), O = weight.size(0), per_in = I / groups, per_out = O / groups;
    const Tensor xc = x.contiguous(), wc = weight.contiguous();
    const Tensor bc = bias.defined() ? bias.contiguous() : Tensor();
    const T* xp = xc.data<T>();
    const T* wp = wc.data<T>();
    const T* bp = bc.defined() ? bc.data<T>() : nullptr;
    Tensor y = empty({N, O}, x.dtype());
    T* yp = y.data<T>();
#pragma omp parallel for schedule(static) if (N * O * per_in >= kParallelGrain)
    for (int64_t no = 0; no < N * O; ++no) {
        const int64_t n = no / O, o = no % O;
        const T* in = xp + n * I + (o / per_out) * per_in;
        const T* w = wp + o * per_in;
        double s = bp ? static_cast<double>(bp[o]) : 0.0;
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < per_in; ++i) s += static_cast<double>(w[i]) * static_cast<double>(in[i]);
        yp[no] = static_cast<T>(relu && !(s > 0) ? 0.0 : s);
    }
    return y;
}

template <typename T>
Tensor gated_sum_impl(const std::vector<Tensor>& paths, const Tensor& weights, const Tensor& residual, bool relu) {
    const Tensor& x0 = paths[0];
    const int64_t N = x0.size(0), C = x0.size(1), HW = x0.size(2) * x0.size(3);
    const int64_t P = static_cast<int64_t>(paths.size());
    std::vector<Rows<T>> rows;
    for (const Tensor& p : paths) rows.push_back(rows_of<T>(p));
    const Tensor wc = weights.contiguous();
    const T* wp = wc.data<T>();
    const bool has_res = residual.defined();
    const Rows<T> res = has_res ? rows_of<T>(residual) : Rows<T>{nullptr, 0, 0};
    Tensor y = empty(x0.shape(), x0.dtype(), MemoryFormat::ChannelsLast);
    T* yp = y.data<T>();
#pragma omp parallel for schedule(static) if (N * HW * C * (P + 1) >= kParallelGrain)
    for (int64_t np = 0; np < N * HW; ++np) {
        const int64_t n = np / HW, px = np % HW;
        T* out = yp + np * C;
        const T* w = wp + n * P * C;
        const T* in = rows[0].row(n, px);
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) out[c] = in[c] * w[c];
        for (int64_t p = 1; p < P; ++p) {
            const T* ip = rows[p].row(n, px);
            const T* wq = w + p * C;
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) out[c] += ip[c] * wq[c];
        }
        if (has_res) {
            const T* r = res.row(n, px);
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) out[c] += r[c];
        }
        if (relu) {
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) out[c] = out[c] > 0 ? out[c] : T(0);
        }
    }
    return y;
}

// bf16 <-> float in the form GCC vectorises (a shift and a same-size bit copy; the select keeps
// NaN a NaN): through the bfloat16 struct the loops below stayed scalar and made SE blocks slower
// than float32 sources.
inline float bf16_load(const bfloat16* p, int64_t c) {
    const uint32_t u = static_cast<uint32_t>(reinterpret_cast<const uint16_t*>(p)[c]) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
inline uint16_t bf16_round(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    return static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? ((u >> 16) | 0x40u) : rounded);
}
inline float load_as_float(const float* p, int64_t c) { return p[c]; }
inline float load_as_float(const bfloat16* p, int64_t c) { return bf16_load(p, c); }

// pool_sum of bfloat16 paths: float32 [N, C], the same fixed chunks as pool_sum_impl.
Tensor pool_sum_bf16(const std::vector<Tensor>& paths) {
    const Tensor& x0 = paths[0];
    const int64_t N = x0.size(0), C = x0.size(1), HW = x0.size(2) * x0.size(3);
    const int64_t chunks = (HW + kPoolChunk - 1) / kPoolChunk;
    std::vector<Rows<bfloat16>> rows;
    for (const Tensor& p : paths) rows.push_back(rows_of<bfloat16>(p));
    std::vector<double> part(static_cast<size_t>(N * chunks * C), 0.0);
    const int64_t work = N * HW * C * static_cast<int64_t>(paths.size());
#pragma omp parallel if (work >= kParallelGrain)
    {
        std::vector<float> chunk_sum(static_cast<size_t>(C));
        float* f = chunk_sum.data();
#pragma omp for schedule(static)
        for (int64_t task = 0; task < N * chunks; ++task) {
            const int64_t n = task / chunks, k = task % chunks;
            double* acc = part.data() + task * C;
            std::fill(f, f + C, 0.0f);  // a chunk of <= 64 pixels summed in float, then in double
            for (const Rows<bfloat16>& r : rows)
                for (int64_t px = k * kPoolChunk; px < std::min(HW, (k + 1) * kPoolChunk); ++px) {
                    const bfloat16* in = r.row(n, px);
#pragma omp simd
                    for (int64_t c = 0; c < C; ++c) f[c] += bf16_load(in, c);
                }
            for (int64_t c = 0; c < C; ++c) acc[c] = f[c];
        }
    }
    Tensor s = empty({N, C}, DType::Float32);
    add_chunks(part, N, chunks, C, 1.0 / static_cast<double>(HW), s.data<float>());
    return s;
}

// gated_sum of bfloat16 paths (bf16 inference): float32 weights, a bfloat16 or float32 residual
// (R), sums in float32, the result rounded to bfloat16 once per element.
template <typename R>
Tensor gated_sum_bf16(const std::vector<Tensor>& paths, const Tensor& weights, const Tensor& residual, bool relu) {
    const Tensor& x0 = paths[0];
    const int64_t N = x0.size(0), C = x0.size(1), HW = x0.size(2) * x0.size(3);
    const int64_t P = static_cast<int64_t>(paths.size());
    std::vector<Rows<bfloat16>> rows;
    for (const Tensor& p : paths) rows.push_back(rows_of<bfloat16>(p));
    const Tensor wc = weights.contiguous();
    const float* wp = wc.data<float>();
    const bool has_res = residual.defined();
    const Rows<R> res = has_res ? rows_of<R>(residual) : Rows<R>{nullptr, 0, 0};
    Tensor y = empty(x0.shape(), DType::BFloat16, MemoryFormat::ChannelsLast);
    bfloat16* yp = y.data<bfloat16>();
#pragma omp parallel if (N * HW * C * (P + 1) >= kParallelGrain)
    {
        std::vector<float> acc(static_cast<size_t>(C));
        float* out = acc.data();
#pragma omp for schedule(static)
        for (int64_t np = 0; np < N * HW; ++np) {
            const int64_t n = np / HW, px = np % HW;
            const float* w = wp + n * P * C;
            const bfloat16* in = rows[0].row(n, px);
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) out[c] = bf16_load(in, c) * w[c];
            for (int64_t p = 1; p < P; ++p) {
                const bfloat16* ip = rows[p].row(n, px);
                const float* wq = w + p * C;
#pragma omp simd
                for (int64_t c = 0; c < C; ++c) out[c] += bf16_load(ip, c) * wq[c];
            }
            if (has_res) {
                const R* r = res.row(n, px);
#pragma omp simd
                for (int64_t c = 0; c < C; ++c) out[c] += load_as_float(r, c);
            }
            uint16_t* dst = reinterpret_cast<uint16_t*>(yp + np * C);
            if (relu) {
#pragma omp simd
                for (int64_t c = 0; c < C; ++c) out[c] = out[c] > 0 ? out[c] : 0.0f;
            }
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) dst[c] = bf16_round(out[c]);
        }
    }
    return y;
}

// gx of split_pool: every pixel of split r, channel c gets g[n, c] / HW.
template <typename T>
Tensor split_pool_backward_impl(const Tensor& g, const Shape& x_shape, int64_t radix) {
    const int64_t N = x_shape[0], RC = x_shape[1], C = RC / radix, HW = x_shape[2] * x_shape[3];
    const Tensor gc = g.contiguous();
    std::vector<T> scaled(static_cast<size_t>(N * C));
    const T* gp = gc.data<T>();
    for (int64_t i = 0; i < N * C; ++i) scaled[i] = static_cast<T>(static_cast<double>(gp[i]) / HW);
    Tensor gx = empty(x_shape, g.dtype(), MemoryFormat::ChannelsLast);
    T* out = gx.data<T>();
#pragma omp parallel for schedule(static) if (N * HW * RC >= kParallelGrain)
    for (int64_t np = 0; np < N * HW; ++np) {
        const T* s = scaled.data() + (np / HW) * C;
        T* row = out + np * RC;
        for (int64_t r = 0; r < radix; ++r) std::copy(s, s + C, row + r * C);
    }
    return gx;
}

// gx and gw of split_gated_sum in one sweep over the pixels; gw's sums over fixed pixel chunks,
// added in chunk order (the result does not depend on the thread count).
template <typename T>
std::vector<Tensor> split_gated_sum_backward_impl(const Tensor& grad_y, const Tensor& x, const Tensor& weights,
                                                  int64_t radix) {
    const int64_t N = x.size(0), RC = x.size(1), C = RC / radix, HW = x.size(2) * x.size(3);
    const Tensor gy = pixel_major(grad_y) ? grad_y : to_memory_format(grad_y, MemoryFormat::ChannelsLast);
    const Rows<T> gyr = rows_of<T>(gy), xr = rows_of<T>(x);
    const Tensor wc = weights.contiguous();
    const T* wp = wc.data<T>();
    Tensor gx = empty(x.shape(), x.dtype(), MemoryFormat::ChannelsLast);
    T* gxp = gx.data<T>();
    const int64_t chunks = (HW + kPoolChunk - 1) / kPoolChunk;
    std::vector<double> part(static_cast<size_t>(N * chunks * RC), 0.0);
#pragma omp parallel for schedule(static) if (N * HW * RC * 2 >= kParallelGrain)
    for (int64_t task = 0; task < N * chunks; ++task) {
        const int64_t n = task / chunks, k = task % chunks;
        double* acc = part.data() + task * RC;
        const T* w = wp + n * RC;
        for (int64_t px = k * kPoolChunk; px < std::min(HW, (k + 1) * kPoolChunk); ++px) {
            const T* g = gyr.row(n, px);
            const T* xq = xr.row(n, px);
            T* out = gxp + (n * HW + px) * RC;
            for (int64_t r = 0; r < radix; ++r) {
                const T* wr = w + r * C;
                const T* xs = xq + r * C;
                T* os = out + r * C;
                double* as = acc + r * C;
#pragma omp simd
                for (int64_t c = 0; c < C; ++c) {
                    os[c] = g[c] * wr[c];
                    as[c] += static_cast<double>(g[c]) * static_cast<double>(xs[c]);
                }
            }
        }
    }
    Tensor gw = empty({N, radix, C}, x.dtype());
    add_chunks(part, N, chunks, RC, 1.0, gw.data<T>());
    return {gx, gw};
}

struct SplitPoolBackward : Node {
    Shape x_shape_;
    int64_t radix_ = 1;
    std::string name() const override { return "SplitPoolBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        return {dispatch_floating(g[0].dtype(), "split_pool backward", [&](auto tag) {
            return split_pool_backward_impl<decltype(tag)>(g[0], x_shape_, radix_);
        })};
    }
};

struct SplitGatedSumBackward : Node {
    Tensor saved_x_, saved_weights_;
    int64_t radix_ = 1;
    std::string name() const override { return "SplitGatedSumBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        return dispatch_floating(g[0].dtype(), "split_gated_sum backward", [&](auto tag) {
            return split_gated_sum_backward_impl<decltype(tag)>(g[0], saved_x_, saved_weights_, radix_);
        });
    }
};

void check_split(const Tensor& x, int64_t radix, const char* op) {
    check<ValueError>(radix >= 1, op, ": radix must be >= 1, got ", radix);
    check<ShapeError>(x.defined() && x.dim() == 4 && x.size(1) % radix == 0 && is_floating(x.dtype()), op,
                      ": expected a floating [N, R*C, H, W] input with R = ", radix, ", got ", describe(x));
}

}  // namespace

bool pixel_major(const Tensor& t) {
    if (!t.defined() || t.dim() != 4 || !(is_floating(t.dtype()) || t.dtype() == DType::BFloat16))
        return false;
    if (t.size(1) > 1 && t.stride(1) != 1) return false;
    if (t.size(2) > 1 && t.size(3) > 1 && t.stride(2) != t.size(3) * t.stride(3)) return false;
    // Channels of one pixel must not overlap the next pixel's (an expanded or transposed view).
    const int64_t step = pixel_step_of(t);
    return step == 0 || step >= t.size(1);
}

Tensor pool_sum(const std::vector<Tensor>& paths) {
    check_paths(paths, "pool_sum");
    if (paths[0].dtype() == DType::BFloat16) return pool_sum_bf16(paths);
    return dispatch_floating(paths[0].dtype(), "pool_sum", [&](auto tag) { return pool_sum_impl<decltype(tag)>(paths); });
}

Tensor gate_fc(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t groups, bool relu) {
    check<ShapeError>(x.defined() && x.dim() == 2, "gate_fc: expected x [N, C], got ", describe(x));
    check<ValueError>(groups >= 1, "gate_fc: groups must be >= 1, got ", groups);
    check<ShapeError>(weight.defined() && weight.dim() == 4 && weight.size(2) == 1 && weight.size(3) == 1 &&
                          weight.size(0) % groups == 0 && weight.size(1) * groups == x.size(1),
                      "gate_fc: expected a 1x1 weight [O, ", x.size(1), " / ", groups, ", 1, 1] with O divisible by ",
                      groups, ", got ", describe(weight));
    check<ShapeError>(!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0)),
                      "gate_fc: expected bias [", weight.size(0), "], got ", describe(bias));
    check<DTypeError>(weight.dtype() == x.dtype() && (!bias.defined() || bias.dtype() == x.dtype()),
                      "gate_fc: x, weight and bias must share a dtype, got ", describe(x), ", ", describe(weight),
                      " and ", describe(bias));
    check_inference(x, "gate_fc", "x");
    check_inference(weight, "gate_fc", "the weight");
    if (bias.defined()) check_inference(bias, "gate_fc", "the bias");
    // Counted as the 1x1 convolution it replaces (models' MAC counts include the attention fcs).
    MacCounter::add(x.size(0) * weight.size(0) * weight.size(1));
    return dispatch_floating(x.dtype(), "gate_fc",
                             [&](auto tag) { return gate_fc_impl<decltype(tag)>(x, weight, bias, groups, relu); });
}

Tensor gated_sum(const std::vector<Tensor>& paths, const Tensor& weights, const Tensor& residual, bool relu) {
    check_paths(paths, "gated_sum");
    const Tensor& x0 = paths[0];
    const int64_t P = static_cast<int64_t>(paths.size());
    // bfloat16 paths (bf16 inference) take float32 gates and a bfloat16 or float32 residual.
    const bool bf16 = x0.dtype() == DType::BFloat16;
    const DType gate_dtype = bf16 ? DType::Float32 : x0.dtype();
    check<ShapeError>(weights.defined() && weights.shape() == Shape{x0.size(0), P, x0.size(1)} &&
                          weights.dtype() == gate_dtype,
                      "gated_sum: expected weights ", dtype_name(gate_dtype), " [", x0.size(0), ", ", P, ", ",
                      x0.size(1), "], got ", describe(weights));
    check_inference(weights, "gated_sum", "the weights");
    if (residual.defined()) {
        const bool dtype_ok = residual.dtype() == x0.dtype() || (bf16 && residual.dtype() == DType::Float32);
        check<ShapeError>(pixel_major(residual) && residual.shape() == x0.shape() && dtype_ok,
                          "gated_sum: expected a pixel-major residual like the paths ", describe(x0), ", got ",
                          describe(residual));
        check_inference(residual, "gated_sum", "the residual");
    }
    g_gated_sums.fetch_add(1, std::memory_order_relaxed);
    if (bf16)
        return residual.defined() && residual.dtype() == DType::Float32
                   ? gated_sum_bf16<float>(paths, weights, residual, relu)
                   : gated_sum_bf16<bfloat16>(paths, weights, residual, relu);
    return dispatch_floating(x0.dtype(), "gated_sum", [&](auto tag) {
        return gated_sum_impl<decltype(tag)>(paths, weights, residual, relu);
    });
}

std::vector<Tensor> radix_splits(const Tensor& x, int64_t radix) {
    const int64_t C = x.size(1) / radix;
    std::vector<Tensor> splits;
    for (int64_t r = 0; r < radix; ++r) splits.push_back(x.narrow(1, r * C, C));
    return splits;
}

Tensor split_pool(const Tensor& x, int64_t radix) {
    check_split(x, radix, "split_pool");
    const int64_t N = x.size(0), C = x.size(1) / radix;
    if (!pixel_major(x)) {
        const Tensor summed = radix > 1 ? sum(reshape(x, {N, radix, C, x.size(2), x.size(3)}), {1}) : x;
        return mean(summed, {2, 3}, false);
    }
    Tensor s = dispatch_floating(x.dtype(), "split_pool",
                                 [&](auto tag) { return pool_sum_impl<decltype(tag)>(radix_splits(x, radix)); });
    if (auto node = make_node<SplitPoolBackward>({x})) {
        node->x_shape_ = x.shape();
        node->radix_ = radix;
        record(node, {s});
    }
    return s;
}

Tensor split_gated_sum(const Tensor& x, const Tensor& weights, int64_t radix) {
    check_split(x, radix, "split_gated_sum");
    const int64_t N = x.size(0), C = x.size(1) / radix, H = x.size(2), W = x.size(3);
    check<ShapeError>(weights.defined() && weights.shape() == Shape{N, radix, C} && weights.dtype() == x.dtype(),
                      "split_gated_sum: expected weights ", dtype_name(x.dtype()), " [", N, ", ", radix, ", ", C,
                      "], got ", describe(weights));
    if (!pixel_major(x)) {
        if (radix == 1) return x * reshape(weights, {N, C, 1, 1});
        return sum(reshape(x, {N, radix, C, H, W}) * reshape(weights, {N, radix, C, 1, 1}), {1});
    }
    Tensor y = dispatch_floating(x.dtype(), "split_gated_sum", [&](auto tag) {
        return gated_sum_impl<decltype(tag)>(radix_splits(x, radix), weights, Tensor(), false);
    });
    if (auto node = make_node<SplitGatedSumBackward>({x, weights})) {
        node->saved_x_ = node->save(x);
        node->saved_weights_ = node->save(weights);
        node->radix_ = radix;
        record(node, {y});
    }
    return y;
}

int64_t gated_sum_calls() { return g_gated_sums.load(std::memory_order_relaxed); }

}  // namespace cardinal
