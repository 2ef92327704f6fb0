#include "ops/dnnl/primitive_cache.h"

#include <atomic>

namespace cardinal::onednn {
namespace {
std::atomic<int64_t> g_created{0}, g_hits{0}, g_entries{0};
}  // namespace

PrimitiveCacheStats dnnl_cache_stats() {
    return {g_created.load(), g_hits.load(), g_entries.load()};
}

namespace detail {
void count_created() { ++g_created; }
void count_hit() { ++g_hits; }
void count_entries(int64_t delta) { g_entries += delta; }
}  // namespace detail

}  // namespace cardinal::onednn
