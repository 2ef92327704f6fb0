#include "tensor/tensor.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <algorithm>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "tensor/allocator.h"
#include "tensor/iterate.h"
#include "tensor/memory_format.h"

namespace cardinal {

namespace {
std::atomic<uint64_t> g_next_storage_id{1};
}

Storage::Storage(size_t nbytes)
    : data_(cache_alloc(nbytes)), nbytes_(nbytes), id_(g_next_storage_id.fetch_add(1)) {}
Storage::~Storage() { cache_free(data_, nbytes_); }

namespace {

Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = base.storage();
    impl->shape = std::move(shape);
    impl->strides = std::move(strides);
    impl->offset = offset;
    impl->dtype = base.dtype();
    return Tensor(std::move(impl));
}

// Resolves a single -1 in `shape` against `numel`; `op` names the caller.
Shape infer_size(Shape shape, int64_t numel, const char* op, const Shape& from) {
    int64_t known = 1, infer = -1;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) {
            check<ShapeError>(infer < 0, op, ": only one size may be -1, got ", shape_str(shape));
            infer = static_cast<int64_t>(i);
        } else {
            check<ShapeError>(shape[i] >= 0, op, ": invalid size in ", shape_str(shape));
            known *= shape[i];
        }
    }
    if (infer >= 0) {
        check<ShapeError>(known != 0 && numel % known == 0, op, ": cannot view ", shape_str(from),
                          " (", numel, " elements) as ", shape_str(shape));
        shape[infer] = numel / known;
    }
    check<ShapeError>(shape_numel(shape) == numel, op, ": cannot view ", shape_str(from), " (",
                      numel, " elements) as ", shape_str(shape), " (", shape_numel(shape),
                      " elements)");
    return shape;
}

// Strides for viewing (shape, strides) as new_shape without copying, or empty if impossible.
// Walks groups of old dims that multiply to groups of new dims; each old group must be
// internally contiguous (as PyTorch's computeStride).
bool view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape, Shape& out) {
    out.assign(new_shape.size(), 0);
    if (shape_numel(shape) == 0) {
        out = contiguous_strides(new_shape);
        return true;
    }
    int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
    int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
    int64_t tensor_numel = 1, view_numel = 1;
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
        tensor_numel *= shape[d];
        if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
            while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
                out[view_d] = view_numel * chunk_base_stride;
                view_numel *= new_shape[view_d];
                view_d--;
            }
            if (view_numel != tensor_numel) return false;
            if (d > 0) {
                chunk_base_stride = strides[d - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    while (view_d >= 0) out[view_d--] = 1;  // trailing size-1 dims
    return true;
}

template <typename T>
void fill_impl(const Tensor& t, double v) {
    T* p = t.data<T>();
    T val = static_cast<T>(v);
    detail::for_each_row<1>(t.shape(), {t.strides()}, [&](auto base, auto step, int64_t n) {
        T* q = p + base[0];
        if (step[0] == 1)
            for (int64_t i = 0; i < n; ++i) q[i] = val;
        else
            for (int64_t i = 0; i < n; ++i) q[i * step[0]] = val;
    });
}

template <typename D, typename S>
void copy_impl(const Tensor& dst, const Tensor& src) {
    D* d = dst.data<D>();
    const S* s = src.data<S>();
    Shape sst = detail::broadcast_strides(src.shape(), src.strides(), dst.shape());
    detail::for_each_row<2>(dst.shape(), {dst.strides(), sst}, [&](auto base, auto step, int64_t n) {
        D* dp = d + base[0];
        const S* sp = s + base[1];
        if (step[0] == 1 && step[1] == 1)
            for (int64_t i = 0; i < n; ++i) dp[i] = static_cast<D>(sp[i]);
        else
            for (int64_t i = 0; i < n; ++i) dp[i * step[0]] = static_cast<D>(sp[i * step[1]]);
    });
}

}  // namespace

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[wrap_dim(d, dim(), "stride")]; }
int64_t Tensor::numel() const { return shape_numel(shape()); }

bool Tensor::is_contiguous() const {
    int64_t expected = 1;
    for (int64_t d = dim() - 1; d >= 0; --d) {
        if (shape()[d] != 1 && strides()[d] != expected) return false;
        expected *= shape()[d];
    }
    return true;
}

void* Tensor::raw_data() const {
    return static_cast<char*>(storage()->data()) + offset() * dtype_size(dtype());
}

Tensor Tensor::view(Shape new_shape) const {
    new_shape = infer_size(std::move(new_shape), numel(), "view", shape());
    Shape st;
    check<ShapeError>(view_strides(shape(), strides(), new_shape, st), "view: tensor of shape ",
                      shape_str(shape()), " with strides ", shape_str(strides()),
                      " cannot be viewed as ", shape_str(new_shape),
                      " without a copy; use reshape");
    return make_view(*this, new_shape, st, offset());
}

Tensor Tensor::reshape(Shape new_shape) const {
    new_shape = infer_size(std::move(new_shape), numel(), "reshape", shape());
    Shape st;
    if (view_strides(shape(), strides(), new_shape, st)) return make_view(*this, new_shape, st, offset());
    return contiguous().view(new_shape);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
    if (dim() == 0) return reshape({1});
    start_dim = wrap_dim(start_dim, dim(), "flatten");
    end_dim = wrap_dim(end_dim, dim(), "flatten");
    check<IndexError>(start_dim <= end_dim, "flatten: start_dim ", start_dim, " > end_dim ", end_dim);
    Shape s(shape().begin(), shape().begin() + start_dim);
    int64_t m = 1;
    for (int64_t d = start_dim; d <= end_dim; ++d) m *= shape()[d];
    s.push_back(m);
    s.insert(s.end(), shape().begin() + end_dim + 1, shape().end());
    return reshape(s);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
    check<ShapeError>(static_cast<int64_t>(dims.size()) == dim(), "permute: tensor of rank ", dim(),
                      " needs ", dim(), " dims, got ", shape_str(dims));
    Shape s(dims.size()), st(dims.size());
    std::vector<bool> seen(dims.size(), false);
    for (size_t i = 0; i < dims.size(); ++i) {
        int64_t d = wrap_dim(dims[i], dim(), "permute");
        check<ShapeError>(!seen[d], "permute: dim ", d, " repeated in ", shape_str(dims));
        seen[d] = true;
        s[i] = shape()[d];
        st[i] = strides()[d];
    }
    return make_view(*this, s, st, offset());
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
    std::vector<int64_t> p(dim());
    for (int64_t i = 0; i < dim(); ++i) p[i] = i;
    std::swap(p[wrap_dim(d0, dim(), "transpose")], p[wrap_dim(d1, dim(), "transpose")]);
    return permute(p);
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
    d = wrap_dim(d, dim(), "narrow");
    int64_t n = shape()[d];
    if (start < 0) start += n;
    check<IndexError>(start >= 0 && length >= 0 && start + length <= n, "narrow: range [", start,
                      ", ", start + length, ") out of bounds for dim ", d, " of size ", n);
    Shape s = shape();
    s[d] = length;
    return make_view(*this, s, strides(), offset() + start * strides()[d]);
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
    d = wrap_dim(d, dim(), "slice");
    check<ValueError>(step >= 1, "slice: step must be positive, got ", step);
    int64_t n = shape()[d];
    if (start < 0) start += n;
    if (end < 0) end += n;
    start = std::clamp<int64_t>(start, 0, n);
    end = std::clamp<int64_t>(end, start, n);
    Shape s = shape(), st = strides();
    s[d] = (end - start + step - 1) / step;
    st[d] *= step;
    return make_view(*this, s, st, offset() + start * strides()[d]);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
    d = wrap_dim(d, dim(), "select");
    int64_t n = shape()[d];
    if (index < 0) index += n;
    check<IndexError>(index >= 0 && index < n, "select: index ", index, " out of range for dim ", d,
                      " of size ", n);
    Shape s = shape(), st = strides();
    int64_t off = offset() + index * st[d];
    s.erase(s.begin() + d);
    st.erase(st.begin() + d);
    return make_view(*this, s, st, off);
}

std::vector<Tensor> Tensor::split(int64_t split_size, int64_t d) const {
    d = wrap_dim(d, dim(), "split");
    check<ValueError>(split_size > 0, "split: split_size must be positive, got ", split_size);
    std::vector<int64_t> sizes;
    for (int64_t s = 0; s < shape()[d]; s += split_size) sizes.push_back(std::min(split_size, shape()[d] - s));
    if (sizes.empty()) sizes.push_back(0);
    return split_sizes(sizes, d);
}

std::vector<Tensor> Tensor::split_sizes(const std::vector<int64_t>& sizes, int64_t d) const {
    d = wrap_dim(d, dim(), "split");
    int64_t total = 0;
    for (int64_t s : sizes) {
        check<ValueError>(s >= 0, "split: negative size in ", shape_str(sizes));
        total += s;
    }
    check<ShapeError>(total == shape()[d], "split: sizes ", shape_str(sizes), " sum to ", total,
                      " but dim ", d, " has size ", shape()[d]);
    std::vector<Tensor> out;
    int64_t start = 0;
    for (int64_t s : sizes) {
        out.push_back(narrow(d, start, s));
        start += s;
    }
    return out;
}

std::vector<Tensor> Tensor::chunk(int64_t chunks, int64_t d) const {
    check<ValueError>(chunks > 0, "chunk: number of chunks must be positive, got ", chunks);
    d = wrap_dim(d, dim(), "chunk");
    int64_t each = (shape()[d] + chunks - 1) / chunks;
    return split(std::max<int64_t>(each, 1), d);
}

Tensor Tensor::expand(Shape new_shape) const {
    check<ShapeError>(new_shape.size() >= shape().size(), "expand: cannot expand ",
                      shape_str(shape()), " to fewer dims ", shape_str(new_shape));
    size_t lead = new_shape.size() - shape().size();
    Shape st(new_shape.size(), 0);
    for (size_t i = 0; i < new_shape.size(); ++i) {
        if (i < lead) {
            check<ShapeError>(new_shape[i] >= 0, "expand: size -1 not allowed for new leading dim in ",
                              shape_str(new_shape));
            continue;
        }
        int64_t cur = shape()[i - lead];
        if (new_shape[i] == -1) new_shape[i] = cur;
        if (cur == new_shape[i]) {
            st[i] = strides()[i - lead];
        } else {
            check<ShapeError>(cur == 1, "expand: cannot expand ", shape_str(shape()), " to ",
                              shape_str(new_shape), " (dim ", i, ": ", cur, " is not 1)");
        }
    }
    return make_view(*this, new_shape, st, offset());
}

Tensor Tensor::squeeze(int64_t d) const {
    d = wrap_dim(d, dim(), "squeeze");
    if (dim() == 0 || shape()[d] != 1) return alias();
    Shape s = shape(), st = strides();
    s.erase(s.begin() + d);
    st.erase(st.begin() + d);
    return make_view(*this, s, st, offset());
}

Tensor Tensor::squeeze() const {
    Shape s, st;
    for (int64_t i = 0; i < dim(); ++i)
        if (shape()[i] != 1) {
            s.push_back(shape()[i]);
            st.push_back(strides()[i]);
        }
    return make_view(*this, s, st, offset());
}

Tensor Tensor::unsqueeze(int64_t d) const {
    d = wrap_dim(d, dim() + 1, "unsqueeze");
    Shape s = shape(), st = strides();
    int64_t inner = d < dim() ? strides()[d] * shape()[d] : 1;
    s.insert(s.begin() + d, 1);
    st.insert(st.begin() + d, inner);
    return make_view(*this, s, st, offset());
}

Tensor Tensor::alias() const { return make_view(*this, shape(), strides(), offset()); }

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
    Tensor out = empty(shape(), dtype());
    out.copy_(*this);
    return out;
}

Tensor Tensor::to(DType t) const {
    if (t == dtype()) return *this;
    Tensor out = empty(shape(), t);
    out.copy_(*this);
    return out;
}

void Tensor::fill_(double value) const {
    storage()->bump_version();
    dispatch_all(dtype(), [&](auto tag) { fill_impl<decltype(tag)>(*this, value); });
}

void Tensor::copy_(const Tensor& src) const {
    broadcast_shapes(src.shape(), shape(), "copy_");
    check<ShapeError>(broadcast_shapes(src.shape(), shape(), "copy_") == shape(), "copy_: source ",
                      shape_str(src.shape()), " does not broadcast to destination ", shape_str(shape()));
    storage()->bump_version();
    if (dtype() == DType::BFloat16 || src.dtype() == DType::BFloat16) {
        // bf16 inference activations: converted to and from float only, one pass in parallel
        // when both sides have the same dense layout (a channels-last map and its copy).
        dispatch_real_storage(dtype(), "copy_", [&](auto dtag) {
            dispatch_real_storage(src.dtype(), "copy_", [&](auto stag) {
                using D = decltype(dtag);
                using S = decltype(stag);
                if (src.shape() == shape() && src.strides() == strides() && is_dense(*this)) {
                    D* d = data<D>();
                    const S* s = src.data<S>();
                    const int64_t n = numel();
#pragma omp parallel for schedule(static) if (n >= (int64_t{1} << 16))
                    for (int64_t i = 0; i < n; ++i) d[i] = static_cast<D>(static_cast<float>(s[i]));
                } else {
                    copy_impl<D, S>(*this, src);
                }
            });
        });
        return;
    }
    dispatch_all(dtype(), [&](auto dtag) {
        dispatch_all(src.dtype(), [&](auto stag) {
            copy_impl<decltype(dtag), decltype(stag)>(*this, src);
        });
    });
}

double Tensor::item() const {
    check<ShapeError>(numel() == 1, "item: expected a tensor with one element, got shape ",
                      shape_str(shape()));
    return dispatch_all(dtype(), [&](auto tag) {
        return static_cast<double>(*data<decltype(tag)>());
    });
}

double Tensor::at(const std::vector<int64_t>& index) const {
    check<IndexError>(static_cast<int64_t>(index.size()) == dim(), "at: index ", shape_str(index),
                      " has the wrong rank for shape ", shape_str(shape()));
    int64_t off = 0;
    for (int64_t d = 0; d < dim(); ++d) {
        check<IndexError>(index[d] >= 0 && index[d] < shape()[d], "at: index ", shape_str(index),
                          " out of bounds for shape ", shape_str(shape()));
        off += index[d] * strides()[d];
    }
    return dispatch_all(dtype(), [&](auto tag) {
        return static_cast<double>(data<decltype(tag)>()[off]);
    });
}

std::vector<double> Tensor::to_vector() const {
    Tensor c = to(DType::Float64).contiguous();
    const double* p = c.data<double>();
    return std::vector<double>(p, p + c.numel());
}

std::string describe(const Tensor& t) {
    if (!t.defined()) return "undefined";
    return std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape());
}

std::string Tensor::str() const {
    std::ostringstream os;
    os << "tensor(" << describe(*this) << ")";
    if (!defined()) return os.str();
    std::vector<double> v = to_vector();
    const int64_t limit = 6;  // elements shown per dim at the edges
    os << std::setprecision(dtype() == DType::Float64 ? 10 : 6);
    // Recursive print with PyTorch-like nesting and "..." for long dims.
    std::function<void(int64_t, int64_t)> rec = [&](int64_t d, int64_t base) {
        if (d == dim()) {
            os << v[base];
            return;
        }
        int64_t n = shape()[d], inner = 1;
        for (int64_t k = d + 1; k < dim(); ++k) inner *= shape()[k];
        os << '[';
        for (int64_t i = 0; i < n; ++i) {
            if (n > 2 * limit && i == limit) {
                os << "..., ";
                i = n - limit;
            }
            rec(d + 1, base + i * inner);
            if (i + 1 < n) os << (d + 1 == dim() ? ", " : ",\n ");
        }
        os << ']';
    };
    os << ' ';
    rec(0, 0);
    return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

Tensor empty(const Shape& shape, DType dtype) {
    auto impl = std::make_shared<TensorImpl>();
    int64_t n = shape_numel(shape);
    check<ValueError>(n <= (int64_t{1} << 40), "empty: ", shape_str(shape),
                      " is too large to allocate (", n, " elements)");
    impl->storage = std::make_shared<Storage>(static_cast<size_t>(n) * dtype_size(dtype));
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    impl->dtype = dtype;
    return Tensor(std::move(impl));
}

Tensor full(const Shape& shape, double value, DType dtype) {
    Tensor t = empty(shape, dtype);
    t.fill_(value);
    return t;
}
Tensor zeros(const Shape& shape, DType dtype) { return full(shape, 0.0, dtype); }
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype()); }

Tensor arange(double start, double end, double step, DType dtype) {
    check<ValueError>(step != 0 && std::isfinite(start) && std::isfinite(end) && std::isfinite(step),
                      "arange: invalid range ", start, "..", end, " step ", step);
    int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((end - start) / step)));
    Tensor t = empty({n}, dtype);
    dispatch_all(dtype, [&](auto tag) {
        using T = decltype(tag);
        T* p = t.data<T>();
        for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + i * step);
    });
    return t;
}

Tensor arange(int64_t n, DType dtype) { return arange(0.0, static_cast<double>(n), 1.0, dtype); }

Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
    check<ShapeError>(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_vector: ",
                      values.size(), " values do not fill shape ", shape_str(shape));
    Tensor src = from_data<double>(values.data(), shape);
    return src.to(dtype);
}

Tensor from_vector_i64(const std::vector<int64_t>& values, const Shape& shape) {
    check<ShapeError>(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_vector_i64: ",
                      values.size(), " values do not fill shape ", shape_str(shape));
    return from_data<int64_t>(values.data(), shape);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
    check<ShapeError>(a.shape() == b.shape(), "max_abs_diff: shapes ", shape_str(a.shape()), " and ",
                      shape_str(b.shape()), " differ");
    std::vector<double> va = a.to_vector(), vb = b.to_vector();
    double m = 0;
    for (size_t i = 0; i < va.size(); ++i) {
        double d = std::fabs(va[i] - vb[i]);
        if (std::isnan(d)) return d;
        m = std::max(m, d);
    }
    return m;
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
    if (a.shape() != b.shape()) return false;
    std::vector<double> va = a.to_vector(), vb = b.to_vector();
    for (size_t i = 0; i < va.size(); ++i)
        if (!(std::fabs(va[i] - vb[i]) <= atol + rtol * std::fabs(vb[i]))) return false;
    return true;
}

}  // namespace cardinal
