// Helpers that print layer arguments the way PyTorch's repr does.
#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace cardinal {

// "(3, 3)"
std::string tuple_repr(const std::array<int64_t, 2>& v);
// "3" when both are equal, else "(3, 5)" (PyTorch pooling layers print what they were given).
std::string size2_repr(const std::array<int64_t, 2>& v);
// A double as Python prints it in repr: 1e-05, 0.1, 0.5, 1.0.
std::string float_repr(double v);
inline std::string bool_repr(bool b) { return b ? "True" : "False"; }

}  // namespace cardinal
