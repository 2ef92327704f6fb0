// Channel arithmetic shared by the attention modules (timm's make_divisible, docs/timm-configs.md
// section 5).
#pragma once
#include <cstdint>

namespace cardinal {

// Rounds v to the nearest multiple of divisor (ties up), at least min_value (divisor when
// min_value is 0); if that loses more than (1 - round_limit) of v, adds one divisor.
// round_limit = 0 never bumps (SE). Throws ValueError for divisor <= 0 or v <= 0.
int64_t make_divisible(double v, int64_t divisor = 8, int64_t min_value = 0, double round_limit = 0.9);

}  // namespace cardinal
