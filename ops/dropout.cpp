// Random regularisers. Each one, in training with p > 0, draws a mask m from the Generator and
// returns y = x * m; in eval or with p == 0 it returns x itself. Backward: grad_x = g * m (the
// same mask, saved). Draws use counters reserved from the generator, one per element (per
// sample for drop_path), so a seed fixes the mask whatever the thread count or dtype.
//
// dropout:   u_i ~ U(0, 1);  m_i = (u_i >= p) / (1 - p)
// drop_path: u_n ~ U(0, 1) per sample n;  m[n, ...] = (u_n >= p) / (1 - p)
// drop_block2d, x [N, C, H, W] (DropBlock, Ghiasi et al. 2018, as timm's drop_block_fast_2d and
// the ResNeSt/GluonCV DropBlock):
//   k     = min(block_size, H, W)
//   gamma = p * H * W / (k^2 * (H - k + 1) * (W - k + 1))      (seed rate; <= p < 1)
//   seed[n, c, h, w] = (u < gamma)                              (one u per element, any position)
//   block = max_pool2d(seed, k, stride 1, top/left padding k/2) (a k x k square per seed;
//           the window of (h, w) covers rows h - k/2 .. h - k/2 + k - 1, the same for columns,
//           so odd k centres the block and even k keeps the output H x W)
//   keep  = 1 - block
//   m     = keep * numel / sum(keep)      (sum over the whole tensor; m = 0 when nothing is kept)
// Where timm divides by (W - block_size + 1)(H - block_size + 1) we use the clipped k, which
// is the same whenever block_size <= min(H, W) and stays finite otherwise; timm adds 1e-7 to
// sum(keep), we divide exactly.
#include "ops/dropout.h"

#include <algorithm>
#include <vector>

#include "autograd/function.h"
#include "tensor/parallel.h"

namespace cardinal {
namespace {

// y = x * m, with m either a tensor shaped like x or one factor per sample (leading index).
struct MaskBackward : Node {
    Tensor saved_mask_;              // same shape as x (dropout, drop_block2d)
    std::vector<double> row_scale_;  // drop_path: one factor per sample
    std::string op_name_;
    std::string name() const override { return op_name_; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override;
    void release() override {
        saved_mask_ = Tensor();
        row_scale_.clear();
    }
    size_t saved_bytes() const override {
        return saved_bytes_of(saved_mask_) + row_scale_.size() * sizeof(double);
    }
};

template <typename T>
Tensor mul_mask(const Tensor& x, const Tensor& mask) {
    const Tensor xc = x.contiguous();
    Tensor y = empty(x.shape(), x.dtype());
    const T* xp = xc.data<T>();
    const T* mp = mask.data<T>();
    T* yp = y.data<T>();
    const int64_t n = x.numel();
#pragma omp parallel for simd schedule(static) if (n >= kParallelGrain)
    for (int64_t i = 0; i < n; ++i) yp[i] = xp[i] * mp[i];
    return y;
}

template <typename T>
Tensor mul_rows(const Tensor& x, const std::vector<double>& scale) {
    const Tensor xc = x.contiguous();
    Tensor y = empty(x.shape(), x.dtype());
    const int64_t rows = static_cast<int64_t>(scale.size()), row = rows ? x.numel() / rows : 0;
    const T* xp = xc.data<T>();
    T* yp = y.data<T>();
#pragma omp parallel for schedule(static) if (x.numel() >= kParallelGrain)
    for (int64_t r = 0; r < rows; ++r) {
        const T s = static_cast<T>(scale[r]);
#pragma omp simd
        for (int64_t i = 0; i < row; ++i) yp[r * row + i] = xp[r * row + i] * s;
    }
    return y;
}

Tensor apply_mask(const MaskBackward& node, const Tensor& x) {
    return dispatch_floating(x.dtype(), node.op_name_.c_str(), [&](auto tag) {
        using T = decltype(tag);
        return node.saved_mask_.defined() ? mul_mask<T>(x, node.saved_mask_)
                                          : mul_rows<T>(x, node.row_scale_);
    });
}

std::vector<Tensor> MaskBackward::apply(std::vector<Tensor>&& g) {
    return {apply_mask(*this, g[0])};
}

// Records y = x * mask and returns y (the node keeps the mask for backward).
Tensor masked(const Tensor& x, MaskBackward mask) {
    Tensor y = apply_mask(mask, x);
    if (auto node = make_node<MaskBackward>({x})) {
        node->saved_mask_ = mask.saved_mask_;
        node->row_scale_ = std::move(mask.row_scale_);
        node->op_name_ = mask.op_name_;
        record(node, {y});
    }
    return y;
}

void check_common(const char* op, const Tensor& x, double p) {
    check<Error>(x.defined(), op, ": the input is undefined");
    check<DTypeError>(is_floating(x.dtype()), op, ": expected a float32 or float64 input, got ",
                      dtype_name(x.dtype()));
    check<ValueError>(p >= 0 && p < 1, op, ": p must be in [0, 1), got ", p);
}

Generator& gen_or_default(Generator* g) { return g ? *g : default_generator(); }

// dropout mask: (u >= p) / (1 - p) per element.
template <typename T>
Tensor dropout_mask(const Shape& shape, double p, Generator& gen) {
    Tensor mask = empty(shape, dtype_of<T>::value);
    const int64_t n = mask.numel();
    const uint64_t base = gen.reserve(static_cast<uint64_t>(n));
    const T keep = static_cast<T>(1.0 / (1.0 - p));
    T* mp = mask.data<T>();
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
    for (int64_t i = 0; i < n; ++i) mp[i] = gen.uniform01(base + i) >= p ? keep : T(0);
    return mask;
}

// drop_block2d mask (formula at the top of the file).
template <typename T>
Tensor drop_block_mask(const Shape& shape, double p, int64_t block_size, Generator& gen) {
    const int64_t planes = shape[0] * shape[1], H = shape[2], W = shape[3], hw = H * W;
    const int64_t k = std::min({block_size, H, W}), pad = k / 2;
    const double gamma =
        p * static_cast<double>(hw) / static_cast<double>(k * k * (H - k + 1) * (W - k + 1));
    const uint64_t base = gen.reserve(static_cast<uint64_t>(planes * hw));
    Tensor mask = empty(shape, dtype_of<T>::value);
    T* mp = mask.data<T>();
    int64_t kept = 0;
#pragma omp parallel for schedule(static) reduction(+ : kept) if (planes * hw >= kParallelGrain)
    for (int64_t pl = 0; pl < planes; ++pl) {
        // Separable max: seeds -> rows blocked (horizontal pass) -> squares (vertical pass).
        std::vector<uint8_t> seed(hw), horiz(hw);
        for (int64_t i = 0; i < hw; ++i)
            seed[i] = gen.uniform01(base + static_cast<uint64_t>(pl * hw + i)) < gamma;
        for (int64_t h = 0; h < H; ++h)
            for (int64_t w = 0; w < W; ++w) {
                uint8_t any = 0;
                for (int64_t j = std::max<int64_t>(w - pad, 0); j < std::min(w - pad + k, W); ++j)
                    any |= seed[h * W + j];
                horiz[h * W + w] = any;
            }
        T* out = mp + pl * hw;
        for (int64_t h = 0; h < H; ++h)
            for (int64_t w = 0; w < W; ++w) {
                uint8_t any = 0;
                for (int64_t i = std::max<int64_t>(h - pad, 0); i < std::min(h - pad + k, H); ++i)
                    any |= horiz[i * W + w];
                out[h * W + w] = any ? T(0) : T(1);
                kept += !any;
            }
    }
    const int64_t n = planes * hw;
    const T scale =
        kept > 0 ? static_cast<T>(static_cast<double>(n) / static_cast<double>(kept)) : T(0);
#pragma omp parallel for simd schedule(static) if (n >= kParallelGrain)
    for (int64_t i = 0; i < n; ++i) mp[i] *= scale;
    return mask;
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
    check_common("dropout", x, p);
    if (!training || p == 0) return x;
    MaskBackward m;
    m.op_name_ = "DropoutBackward";
    m.saved_mask_ = dispatch_floating(x.dtype(), "dropout", [&](auto tag) {
        return dropout_mask<decltype(tag)>(x.shape(), p, gen_or_default(gen));
    });
    return masked(x, std::move(m));
}

Tensor drop_block2d(const Tensor& x, double p, int64_t block_size, bool training, Generator* gen) {
    check_common("drop_block2d", x, p);
    check<ShapeError>(x.dim() == 4, "drop_block2d: expected a 4-d input [N, C, H, W], got ",
                      shape_str(x.shape()));
    check<ValueError>(block_size >= 1, "drop_block2d: block_size must be >= 1, got ", block_size);
    if (!training || p == 0 || x.numel() == 0) return x;
    MaskBackward m;
    m.op_name_ = "DropBlock2dBackward";
    m.saved_mask_ = dispatch_floating(x.dtype(), "drop_block2d", [&](auto tag) {
        return drop_block_mask<decltype(tag)>(x.shape(), p, block_size, gen_or_default(gen));
    });
    return masked(x, std::move(m));
}

Tensor drop_path(const Tensor& x, double p, bool training, Generator* gen) {
    check_common("drop_path", x, p);
    check<ShapeError>(x.dim() >= 1,
                      "drop_path: expected an input with a batch dimension, got a 0-d tensor");
    if (!training || p == 0) return x;
    Generator& g = gen_or_default(gen);
    const int64_t n = x.size(0);
    const uint64_t base = g.reserve(static_cast<uint64_t>(n));
    MaskBackward m;
    m.op_name_ = "DropPathBackward";
    m.row_scale_.resize(n);
    for (int64_t i = 0; i < n; ++i)
        m.row_scale_[i] = g.uniform01(base + i) >= p ? 1.0 / (1.0 - p) : 0.0;
    return masked(x, std::move(m));
}

}  // namespace cardinal
