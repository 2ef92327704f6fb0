#include "nn/blocks/channels.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"

namespace cardinal {

int64_t make_divisible(double v, int64_t divisor, int64_t min_value, double round_limit) {
    check<ValueError>(divisor > 0, "make_divisible: divisor must be positive, got ", divisor);
    check<ValueError>(v > 0 && std::isfinite(v), "make_divisible: value must be positive, got ", v);
    int64_t lo = min_value > 0 ? min_value : divisor;
    // Python: int(v + divisor / 2) // divisor * divisor (truncation of a positive float).
    int64_t nearest = static_cast<int64_t>(v + static_cast<double>(divisor) / 2.0) / divisor * divisor;
    int64_t r = std::max(lo, nearest);
    if (static_cast<double>(r) < round_limit * v) r += divisor;
    return r;
}

}  // namespace cardinal
