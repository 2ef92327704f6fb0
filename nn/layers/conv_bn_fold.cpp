#include "nn/layers/conv_bn_fold.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/variable.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/conv.h"

namespace cardinal {
namespace {

void add_key(std::vector<uint64_t>& key, const Tensor& t) {
    if (!t.defined()) {
        key.insert(key.end(), {0, 0, 0});
        return;
    }
    key.push_back(t.storage()->id());
    key.push_back(t.storage()->version());
    key.push_back(static_cast<uint64_t>(t.offset()));
}

// w'[o, ...] = w[o, ...] * s_o into w_out (when given) and b'_o into b_out.
template <typename T>
void fold(const Tensor& w, const Tensor& b, const BatchNorm2d& bn, Tensor* w_out, Tensor* b_out) {
    const int64_t O = w.size(0), per = w.numel() / O;
    auto at = [](const Tensor& t, int64_t i) { return static_cast<double>(t.data<T>()[i * t.stride(0)]); };
    auto scale = [&](int64_t o) { return at(bn.weight(), o) / std::sqrt(at(bn.running_var(), o) + bn.eps()); };
    if (w_out) {
        const Tensor wc = w.contiguous();
        *w_out = empty(w.shape(), w.dtype());
        const T* pw = wc.data<T>();
        T* qw = w_out->data<T>();
        for (int64_t o = 0; o < O; ++o) {
            const double s = scale(o);
            for (int64_t i = 0; i < per; ++i) qw[o * per + i] = static_cast<T>(pw[o * per + i] * s);
        }
    }
    if (b_out) {
        *b_out = empty({O}, w.dtype());
        T* qb = b_out->data<T>();
        for (int64_t o = 0; o < O; ++o) {
            const double b0 = b.defined() ? at(b, o) : 0.0;
            qb[o] = static_cast<T>((b0 - at(bn.running_mean(), o)) * scale(o) + at(bn.bias(), o));
        }
    }
}

void fold_checked(const Conv2d& conv, const BatchNorm2d& bn, Tensor* w_out, Tensor* b_out) {
    check<ShapeError>(conv.weight().size(0) == bn.num_features(), "conv_bn_act: conv has ",
                      conv.weight().size(0), " output channels, BatchNorm2d has ", bn.num_features());
    dispatch_floating(conv.weight().dtype(), "conv_bn_act", [&](auto tag) {
        fold<decltype(tag)>(conv.weight(), conv.bias(), bn, w_out, b_out);
    });
}

}  // namespace

bool can_fold_conv_bn(const Conv2d& conv, const BatchNorm2d& bn, const Tensor& x) {
    if (bn.is_training()) return false;
    if (!grad_mode_enabled()) return true;
    return !requires_grad(x) && !requires_grad(conv.weight()) && !requires_grad(bn.weight()) &&
           !requires_grad(bn.bias()) && !(conv.bias().defined() && requires_grad(conv.bias()));
}

bool no_grad_wanted(const Module& m, const std::vector<Tensor>& inputs) {
    if (!grad_mode_enabled()) return true;
    for (const Tensor& t : inputs)
        if (t.defined() && requires_grad(t)) return false;
    for (const Tensor& p : m.parameters())
        if (requires_grad(p)) return false;
    return true;
}

void BatchNorm2d::refold(const Conv2d& conv, bool keep_weight) {
    std::vector<uint64_t> key;
    for (const Tensor* t : std::initializer_list<const Tensor*>{&conv.weight(), &conv.bias(), &weight_, &bias_,
                                                                &running_mean_, &running_var_})
        add_key(key, *t);
    if (key == fold_key_ && (folded_w_.defined() || !keep_weight)) return;
    fold_checked(conv, *this, keep_weight ? &folded_w_ : nullptr, &folded_b_);
    if (!keep_weight) folded_w_ = Tensor();
    if (!fold_version_.defined()) fold_version_ = zeros({1});
    fold_version_.storage()->bump_version();
    fold_key_ = std::move(key);
}

std::pair<Tensor, Tensor> BatchNorm2d::folded_into(const Conv2d& conv) {
    std::lock_guard<std::mutex> lock(fold_mutex_);
    refold(conv, true);
    return {folded_w_, folded_b_};
}

std::pair<DerivedWeight, Tensor> BatchNorm2d::folded_lazily_into(const Conv2d& conv) {
    std::lock_guard<std::mutex> lock(fold_mutex_);
    refold(conv, false);
    // make() runs inside the convolution call, while conv and this BatchNorm are alive.
    auto make = [&conv, this] {
        Tensor w;
        fold_checked(conv, *this, &w, nullptr);
        return w;
    };
    return {DerivedWeight{conv.weight(), fold_version_, make}, folded_b_};
}

Tensor conv_bn_act(Conv2d& conv, BatchNorm2d& bn, const Tensor& x, bool relu, const Tensor& residual) {
    if (!can_fold_conv_bn(conv, bn, x) || (residual.defined() && grad_mode_enabled() && requires_grad(residual))) {
        // Training (or a gradient wanted): the modules, with the ReLU fused into the BatchNorm
        // or into the residual add (one pass each way instead of two).
        const Tensor z = conv.forward(x);
        if (!residual.defined()) return relu ? bn.forward_relu(z) : bn.forward(z);
        const Tensor y = bn.forward(z);
        return relu ? add_relu(y, residual) : y + residual;
    }
    check<ShapeError>(x.dim() == 4 && x.size(1) == conv.options().in_channels(), "Conv2d(",
                      conv.options().in_channels(), " -> ", conv.options().out_channels(),
                      "): expected input [N, ", conv.options().in_channels(), ", H, W], got ", describe(x));
    auto [w, b] = bn.folded_lazily_into(conv);
    return conv2d_inference(x, w, b, conv.params(), residual, relu);
}

}  // namespace cardinal
