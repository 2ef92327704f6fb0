// Elementwise kernels: one strided loop (detail::for_each_row) instantiated per function.
#include <cmath>

#include "tensor/iterate.h"
#include "tensor/kernels.h"
#include "tensor/memory_format.h"

namespace cardinal::kernels {
namespace {

void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
    check<DTypeError>(a.dtype() == b.dtype(), op, ": dtype mismatch: ", describe(a), " vs ",
                      describe(b));
}

template <typename T, typename F>
Tensor binary(const Tensor& a, const Tensor& b, F f) {
    // The output keeps the layout of the operand that has its full shape (a first), so a
    // channels-last activation times a [N, C, 1, 1] gate stays channels-last.
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), "binary op");
    Tensor out = empty_with_layout_of(a.shape() == shape || b.shape() != shape ? a : b, shape,
                                      a.dtype());
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    Shape sa = detail::broadcast_strides(a.shape(), a.strides(), out.shape());
    Shape sb = detail::broadcast_strides(b.shape(), b.strides(), out.shape());
    detail::for_each_row<3>(out.shape(), {out.strides(), sa, sb}, [&](auto base, auto step, int64_t n) {
        T* o = po + base[0];
        const T* x = pa + base[1];
        const T* y = pb + base[2];
        if (step[1] == 1 && step[2] == 1) {
            for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
        } else if (step[1] == 1 && step[2] == 0) {
            const T yv = *y;
            for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
        } else if (step[1] == 0 && step[2] == 1) {
            const T xv = *x;
            for (int64_t i = 0; i < n; ++i) o[i] = f(xv, y[i]);
        } else {
            for (int64_t i = 0; i < n; ++i) o[i] = f(x[i * step[1]], y[i * step[2]]);
        }
    });
    return out;
}

template <typename F>
Tensor binary_op(const Tensor& a, const Tensor& b, const char* op, F f) {
    check_same_dtype(a, b, op);
    broadcast_shapes(a.shape(), b.shape(), op);  // throws with the op's name
    return dispatch_all(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        return binary<T>(a, b, [&](T x, T y) { return static_cast<T>(f(x, y)); });
    });
}

template <typename F>
Tensor unary_float(const Tensor& a, const char* op, F f) {
    return dispatch_floating(a.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        Tensor out = empty_with_layout_of(a, a.shape(), a.dtype());
        const T* pa = a.data<T>();
        T* po = out.data<T>();
        detail::for_each_row<2>(a.shape(), {out.strides(), a.strides()}, [&](auto base, auto step, int64_t n) {
            T* o = po + base[0];
            const T* x = pa + base[1];
            if (step[1] == 1)
                for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
            else
                for (int64_t i = 0; i < n; ++i) o[i] = f(x[i * step[1]]);
        });
        return out;
    });
}

// Unary that also accepts int64 (arithmetic ones).
template <typename F>
Tensor unary_any(const Tensor& a, F f) {
    return dispatch_all(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Tensor out = empty_with_layout_of(a, a.shape(), a.dtype());
        const T* pa = a.data<T>();
        T* po = out.data<T>();
        detail::for_each_row<2>(a.shape(), {out.strides(), a.strides()}, [&](auto base, auto step, int64_t n) {
            for (int64_t i = 0; i < n; ++i) po[base[0] + i] = static_cast<T>(f(pa[base[1] + i * step[1]]));
        });
        return out;
    });
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary_op(a, b, "add", [](auto x, auto y) { return x + y; }); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary_op(a, b, "sub", [](auto x, auto y) { return x - y; }); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_op(a, b, "mul", [](auto x, auto y) { return x * y; }); }
Tensor div(const Tensor& a, const Tensor& b) {
    check<DTypeError>(is_floating(a.dtype()), "div: expected floating tensors, got ", describe(a));
    return binary_op(a, b, "div", [](auto x, auto y) { return x / y; });
}
Tensor maximum(const Tensor& a, const Tensor& b) {
    return binary_op(a, b, "maximum", [](auto x, auto y) { return x > y ? x : y; });
}
Tensor greater(const Tensor& a, const Tensor& b) {
    return binary_op(a, b, "greater", [](auto x, auto y) { return x > y ? 1 : 0; });
}

Tensor add_scalar(const Tensor& a, double s) { return unary_any(a, [s](auto x) { return x + s; }); }
Tensor mul_scalar(const Tensor& a, double s) { return unary_any(a, [s](auto x) { return x * s; }); }
Tensor greater_scalar(const Tensor& a, double s) { return unary_any(a, [s](auto x) { return x > s ? 1 : 0; }); }
Tensor pow_scalar(const Tensor& a, double e) {
    if (e == 2.0) return unary_float(a, "pow", [](auto x) { return x * x; });
    return unary_float(a, "pow", [e](auto x) { return static_cast<decltype(x)>(std::pow(x, e)); });
}

Tensor neg(const Tensor& a) { return unary_any(a, [](auto x) { return -x; }); }
Tensor abs(const Tensor& a) { return unary_any(a, [](auto x) { return x < 0 ? -x : x; }); }
Tensor exp(const Tensor& a) { return unary_float(a, "exp", [](auto x) { return std::exp(x); }); }
Tensor log(const Tensor& a) { return unary_float(a, "log", [](auto x) { return std::log(x); }); }
Tensor sqrt(const Tensor& a) { return unary_float(a, "sqrt", [](auto x) { return std::sqrt(x); }); }
Tensor relu(const Tensor& a) {
    return unary_float(a, "relu", [](auto x) { return x > 0 ? x : decltype(x)(0); });
}
Tensor sigmoid(const Tensor& a) {
    // Written to avoid exp overflow for large |x|.
    return unary_float(a, "sigmoid", [](auto x) {
        using T = decltype(x);
        if (x >= 0) return T(1) / (T(1) + std::exp(-x));
        T e = std::exp(x);
        return e / (T(1) + e);
    });
}
Tensor tanh(const Tensor& a) { return unary_float(a, "tanh", [](auto x) { return std::tanh(x); }); }

void add_(const Tensor& dst, const Tensor& src, double alpha) {
    check_same_dtype(dst, src, "add_");
    check<ShapeError>(broadcast_shapes(dst.shape(), src.shape(), "add_") == dst.shape(), "add_: source ",
                      shape_str(src.shape()), " does not broadcast to ", shape_str(dst.shape()));
    dst.storage()->bump_version();
    dispatch_all(dst.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* pd = dst.data<T>();
        const T* ps = src.data<T>();
        const T al = static_cast<T>(alpha);
        Shape ss = detail::broadcast_strides(src.shape(), src.strides(), dst.shape());
        detail::for_each_row<2>(dst.shape(), {dst.strides(), ss}, [&](auto base, auto step, int64_t n) {
            T* d = pd + base[0];
            const T* s = ps + base[1];
            if (step[0] == 1 && step[1] == 1)
                for (int64_t i = 0; i < n; ++i) d[i] += al * s[i];
            else
                for (int64_t i = 0; i < n; ++i) d[i * step[0]] += al * s[i * step[1]];
        });
    });
}

void mul_scalar_(const Tensor& dst, double s) {
    dst.storage()->bump_version();
    dispatch_all(dst.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* pd = dst.data<T>();
        const T sv = static_cast<T>(s);
        detail::for_each_row<1>(dst.shape(), {dst.strides()}, [&](auto base, auto step, int64_t n) {
            for (int64_t i = 0; i < n; ++i) pd[base[0] + i * step[0]] *= sv;
        });
    });
}

bool has_nonfinite(const Tensor& a) {
    if (!is_floating(a.dtype())) return false;
    return dispatch_floating(a.dtype(), "has_nonfinite", [&](auto tag) {
        using T = decltype(tag);
        Tensor c = a.contiguous();
        const T* p = c.data<T>();
        int64_t n = c.numel();
        bool bad = false;
#pragma omp parallel for reduction(|| : bad) if (n >= kParallelGrain)
        for (int64_t i = 0; i < n; ++i) bad = bad || !std::isfinite(p[i]);
        return bad;
    });
}

}  // namespace cardinal::kernels
