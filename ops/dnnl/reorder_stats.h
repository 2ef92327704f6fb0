// How many oneDNN reorders (layout conversions of a primitive's argument) the process has run:
// `cardinal bench` reports them per iteration, so a layout that forces conversions shows.
#pragma once
#include <cstdint>

namespace cardinal::onednn {

void count_reorders(int64_t n = 1);
int64_t reorders_executed();

}  // namespace cardinal::onednn
