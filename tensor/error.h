// cardinal::Error and its family: every failure the library reports on purpose.
// Messages name the operation or file, what was expected and what came, e.g.
//   conv2d: input has 64 channels, weight expects 32 (groups=4)
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace cardinal {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
// A tensor had the wrong rank, size or broadcast-incompatible shape.
class ShapeError : public Error { using Error::Error; };
// A tensor had the wrong element type.
class DTypeError : public Error { using Error::Error; };
// An argument or configuration value is out of its valid range.
class ValueError : public Error { using Error::Error; };
// A dimension or element index is out of range.
class IndexError : public Error { using Error::Error; };
// A file is missing, unreadable, truncated or lies about its contents.
class FormatError : public Error { using Error::Error; };
// Misuse of the autograd engine (e.g. backward through a freed graph).
class AutogradError : public Error { using Error::Error; };

namespace detail {
inline void append_all(std::ostringstream&) {}
template <typename T, typename... Rest>
void append_all(std::ostringstream& os, const T& first, const Rest&... rest) {
    os << first;
    append_all(os, rest...);
}
}  // namespace detail

// Concatenates its arguments with operator<<: fail<ShapeError>("add: ", a, " vs ", b).
template <typename E = Error, typename... Args>
[[noreturn]] void fail(const Args&... args) {
    std::ostringstream os;
    detail::append_all(os, args...);
    throw E(os.str());
}

// check<E>(cond, message parts...) throws E when cond is false.
template <typename E = Error, typename... Args>
void check(bool cond, const Args&... args) {
    if (!cond) fail<E>(args...);
}

}  // namespace cardinal
