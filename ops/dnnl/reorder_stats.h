// A process-wide count of oneDNN reorder executions (layout conversions of activations, weights
// or gradients), so that `cardinal bench` can report reorders per iteration: every place that
// executes a reorder primitive calls count_reorders() next to it.
#pragma once
#include <cstdint>

namespace cardinal::onednn {

// Adds n executed reorders (thread-safe; relaxed, since only the total is read).
void count_reorders(int64_t n = 1);
// Reorders executed since the process started.
int64_t reorders_executed();

}  // namespace cardinal::onednn
