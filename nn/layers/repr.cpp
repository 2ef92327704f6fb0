#include "nn/layers/repr.h"

#include <cstdio>

namespace cardinal {

std::string tuple_repr(const std::array<int64_t, 2>& v) {
    return "(" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + ")";
}

std::string size2_repr(const std::array<int64_t, 2>& v) {
    return v[0] == v[1] ? std::to_string(v[0]) : tuple_repr(v);
}

std::string float_repr(double v) {
    // Python's repr is the shortest string that round-trips; %.*g with growing precision gives
    // the same digits. Python writes exponents below 1e-4 ("1e-05") and keeps ".0" on integers.
    char buf[64];
    for (int prec = 1; prec <= 17; ++prec) {
        std::snprintf(buf, sizeof buf, "%.*g", prec, v);
        double back = 0;
        std::sscanf(buf, "%lf", &back);
        if (back == v) break;
    }
    std::string s = buf;
    if (s.find_first_of(".e") == std::string::npos && s.find("inf") == std::string::npos &&
        s.find("nan") == std::string::npos)
        s += ".0";
    return s;
}

}  // namespace cardinal
