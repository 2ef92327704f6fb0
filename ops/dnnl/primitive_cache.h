// A cache of ready-to-run oneDNN primitives keyed by everything that shapes them.
//
// Why: creating a primitive_desc costs 2-17 us and a cold JIT primitive 40-400 us, as much as
// executing a small layer (measured on the project VM with oneDNN 2.x), and a network runs the
// same shapes every
// step. An entry holds whatever the op needs to execute again (primitive_desc, primitive,
// reorders, scratchpad size), built once by the op's `create` function.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace cardinal::onednn {

// Counts over every primitive cache of the process.
struct PrimitiveCacheStats {
    int64_t created = 0;  // entries built (primitive creations)
    int64_t hits = 0;     // lookups answered by an existing entry
    int64_t entries = 0;  // entries currently held
};

PrimitiveCacheStats dnnl_cache_stats();

namespace detail {
void count_created();
void count_hit();
void count_entries(int64_t delta);
}  // namespace detail

using CacheKey = std::vector<int64_t>;

template <typename Entry>
class PrimitiveCache {
public:
    // The entry for `key`, built with create() the first time. create() runs without the lock
    // held, so it may itself look up other entries (a backward pass fetches its forward hint).
    std::shared_ptr<const Entry> get(const CacheKey& key, const std::function<Entry()>& create) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = entries_.find(key);
            if (it != entries_.end()) {
                detail::count_hit();
                return it->second;
            }
        }
        auto entry = std::make_shared<const Entry>(create());
        std::lock_guard<std::mutex> lock(mutex_);
        auto [it, inserted] = entries_.emplace(key, entry);  // another thread may have won
        if (inserted) {
            detail::count_created();
            detail::count_entries(1);
        }
        return it->second;
    }
    void clear() {
        std::lock_guard<std::mutex> lock(mutex_);
        detail::count_entries(-static_cast<int64_t>(entries_.size()));
        entries_.clear();
    }

private:
    std::mutex mutex_;
    std::map<CacheKey, std::shared_ptr<const Entry>> entries_;
};

}  // namespace cardinal::onednn
