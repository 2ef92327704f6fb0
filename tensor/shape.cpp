#include "tensor/shape.h"

#include <sstream>

#include "tensor/error.h"

namespace cardinal {

std::string shape_str(const Shape& s) {
    std::ostringstream os;
    os << '[';
    for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
    os << ']';
    return os.str();
}

int64_t shape_numel(const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s) {
        check<ValueError>(d >= 0, "shape ", shape_str(s), " has a negative size");
        if (d != 0 && n > INT64_MAX / d) fail<ValueError>("shape ", shape_str(s), " overflows int64");
        n *= d;
    }
    return n;
}

Shape contiguous_strides(const Shape& s) {
    Shape st(s.size());
    int64_t acc = 1;
    for (size_t i = s.size(); i-- > 0;) {
        st[i] = acc;
        acc *= std::max<int64_t>(s[i], 1);
    }
    return st;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
    size_t n = std::max(a.size(), b.size());
    Shape out(n);
    for (size_t i = 0; i < n; ++i) {
        int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        if (da != db && da != 1 && db != 1)
            fail<ShapeError>(op, ": shapes ", shape_str(a), " and ", shape_str(b),
                             " cannot be broadcast (dim ", i, ": ", da, " vs ", db, ")");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
    int64_t lo = -std::max<int64_t>(ndim, 1), hi = std::max<int64_t>(ndim, 1) - 1;
    if (dim < lo || dim > hi)
        fail<IndexError>(op, ": dim ", dim, " out of range for a tensor of rank ", ndim,
                         " (expected ", lo, "..", hi, ")");
    return dim < 0 ? dim + std::max<int64_t>(ndim, 1) : dim;
}

}  // namespace cardinal
