#include "ops/dnnl/reorder_stats.h"

#include <atomic>

namespace cardinal::onednn {
namespace {
std::atomic<int64_t> g_reorders{0};
}

void count_reorders(int64_t n) { g_reorders.fetch_add(n, std::memory_order_relaxed); }

int64_t reorders_executed() { return g_reorders.load(std::memory_order_relaxed); }

}  // namespace cardinal::onednn
