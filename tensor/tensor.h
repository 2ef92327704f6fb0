// Tensor: a typed, strided view over shared 64-byte-aligned storage.
//
// Everything in tensor/ is plain computation: nothing here is recorded for backward. The
// differentiable functions of the same names live in ops/ (cardinal::add, cardinal::reshape, ...)
// and record a graph node when an input requires grad. Tensor methods (view, permute, narrow, ...)
// are metadata-only views that share storage and never copy.
#pragma once
#include <atomic>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/shape.h"

namespace cardinal {

// A block of memory from the caching allocator, shared by every view of it.
//
// id() names the storage for the life of the process (never reused, unlike its address), and
// version() counts the in-place writes made to it through Tensor::fill_ / copy_, the in-place
// kernels and the optimizers (bump_version()). Together they let a cache of something derived
// from a tensor (a weight reordered for oneDNN, BatchNorm folded into a convolution) know when
// it is stale.
class Storage {
public:
    explicit Storage(size_t nbytes);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;
    void* data() const { return data_; }
    size_t nbytes() const { return nbytes_; }
    uint64_t id() const { return id_; }
    uint64_t version() const { return version_.load(std::memory_order_acquire); }
    void bump_version() { version_.fetch_add(1, std::memory_order_acq_rel); }

private:
    void* data_;
    size_t nbytes_;
    uint64_t id_;
    std::atomic<uint64_t> version_{0};
};

// The slot autograd/ fills in; opaque here so that tensor/ does not depend on autograd/.
struct AutogradMetaBase {
    virtual ~AutogradMetaBase() = default;
};

struct TensorImpl {
    std::shared_ptr<Storage> storage;
    Shape shape;
    Shape strides;  // in elements
    int64_t offset = 0;  // in elements
    DType dtype = DType::Float32;
    std::unique_ptr<AutogradMetaBase> autograd;
};

class Tensor {
public:
    Tensor() = default;  // undefined: holds nothing
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

    bool defined() const { return impl_ != nullptr; }
    DType dtype() const { return impl().dtype; }
    const Shape& shape() const { return impl().shape; }
    const Shape& strides() const { return impl().strides; }
    int64_t offset() const { return impl().offset; }
    int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
    int64_t size(int64_t d) const;    // negative d counts from the end
    int64_t stride(int64_t d) const;
    int64_t numel() const;
    bool is_contiguous() const;

    // Pointer to the first element (storage + offset). T must match dtype().
    template <typename T> T* data() const {
        check<DTypeError>(dtype_of<T>::value == dtype(), "data<", dtype_name(dtype_of<T>::value),
                          ">(): tensor holds ", dtype_name(dtype()));
        return static_cast<T*>(impl().storage->data()) + impl().offset;
    }
    void* raw_data() const;
    const std::shared_ptr<Storage>& storage() const { return impl().storage; }
    TensorImpl* unsafe_impl() const { return impl_.get(); }
    const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
    bool is_same(const Tensor& o) const { return impl_ == o.impl_; }

    // ---- views: share storage, never copy ----
    Tensor view(Shape shape) const;  // one size may be -1; needs compatible strides
    Tensor reshape(Shape shape) const;  // a view when strides allow, else a contiguous copy
    Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
    Tensor permute(const std::vector<int64_t>& dims) const;
    Tensor transpose(int64_t d0, int64_t d1) const;
    Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
    Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
    Tensor select(int64_t dim, int64_t index) const;  // drops `dim`
    std::vector<Tensor> split(int64_t split_size, int64_t dim) const;
    std::vector<Tensor> split_sizes(const std::vector<int64_t>& sizes, int64_t dim) const;
    std::vector<Tensor> chunk(int64_t chunks, int64_t dim) const;
    Tensor expand(Shape shape) const;  // -1 keeps a size; new leading dims allowed
    Tensor squeeze(int64_t dim) const;
    Tensor squeeze() const;  // all size-1 dims
    Tensor unsqueeze(int64_t dim) const;
    // The same data under a new handle with no autograd history.
    Tensor alias() const;

    // ---- copies ----
    Tensor contiguous() const;  // itself when already contiguous
    Tensor clone() const;       // always a fresh contiguous copy
    Tensor to(DType t) const;   // itself when already of type t

    // ---- in place ----
    void fill_(double value) const;
    void zero_() const { fill_(0.0); }
    void copy_(const Tensor& src) const;  // src broadcastable to this shape; converts dtype

    // Value of a one-element tensor, as double.
    double item() const;
    // Element at a full index, as double.
    double at(const std::vector<int64_t>& index) const;
    std::vector<double> to_vector() const;  // all elements in row-major order
    std::string str() const;  // "tensor(float32 [2, 3]) [[...]]"

private:
    const TensorImpl& impl() const {
        check<Error>(impl_ != nullptr, "use of an undefined tensor");
        return *impl_;
    }
    std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);
// "float32 [2, 3]" (or "undefined")
std::string describe(const Tensor& t);

// ---- factories ----
Tensor empty(const Shape& shape, DType dtype = DType::Float32);
Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
Tensor ones(const Shape& shape, DType dtype = DType::Float32);
Tensor full(const Shape& shape, double value, DType dtype = DType::Float32);
Tensor scalar_tensor(double value, DType dtype = DType::Float32);  // 0-d
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::Float32);
Tensor arange(int64_t n, DType dtype = DType::Int64);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor empty_like(const Tensor& t);
// Copies `values` (converted to dtype) into a new tensor of `shape`.
Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                   DType dtype = DType::Float32);
Tensor from_vector_i64(const std::vector<int64_t>& values, const Shape& shape);
// Copies raw elements of type T.
template <typename T> Tensor from_data(const T* values, const Shape& shape) {
    Tensor t = empty(shape, dtype_of<T>::value);
    T* dst = t.data<T>();
    for (int64_t i = 0, n = t.numel(); i < n; ++i) dst[i] = values[i];
    return t;
}

// |a - b| <= atol + rtol*|b| elementwise (shapes must be equal; dtypes may differ).
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);
// max |a - b| over all elements.
double max_abs_diff(const Tensor& a, const Tensor& b);

}  // namespace cardinal
