#include "tensor/allocator.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "tensor/error.h"

namespace cardinal {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kHugeThreshold = 1 << 20;  // blocks from 1 MiB up are mmapped
constexpr size_t kHugePage = 2 << 20;

// Size classes: multiples of 64 up to 512 B, then 8 steps per power of two (at most 12.5% waste),
// and whole 2 MiB huge pages for big blocks. A class is reused only by requests of the same class.
// (Finer classes for big blocks, 8 steps per power of two, would save a fifth of an inference
// network's memory, but cost 3-5 % of a training step: measured, docs/performance.md.)
size_t size_class(size_t n) {
    if (n <= 512) return n == 0 ? kAlign : (n + kAlign - 1) / kAlign * kAlign;
    if (n >= kHugeThreshold) return (n + kHugePage - 1) / kHugePage * kHugePage;
    size_t p = 1;
    while (p * 2 <= n) p *= 2;  // p <= n < 2p
    size_t step = p / 8;
    return (n + step - 1) / step * step;
}

thread_local int return_freed_depth = 0;  // ReturnFreedBlocks scopes open on this thread
thread_local AllocationLimit* active_limit = nullptr;  // the innermost AllocationLimit

struct Cache {
    std::mutex mu;
    std::unordered_map<size_t, std::vector<void*>> free_blocks;
    AllocatorStats stats;

    static void* system_alloc(size_t cls) {
        if (cls >= kHugeThreshold) {
            void* p = mmap(nullptr, cls, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) throw std::bad_alloc();
            madvise(p, cls, MADV_HUGEPAGE);
            return p;
        }
        void* p = std::aligned_alloc(kAlign, cls);
        if (!p) throw std::bad_alloc();
        return p;
    }
    static void system_free(void* p, size_t cls) {
        if (cls >= kHugeThreshold)
            munmap(p, cls);
        else
            std::free(p);
    }
};

Cache& cache() {
    static Cache* c = new Cache();  // never destroyed: storages may be freed during static teardown
    return *c;
}

}  // namespace

void* cache_alloc(size_t nbytes) {
    size_t cls = size_class(nbytes);
    if (active_limit) AllocationLimit::charge(cls);
    Cache& c = cache();
    {
        std::lock_guard<std::mutex> lock(c.mu);
        auto it = c.free_blocks.find(cls);
        if (it != c.free_blocks.end() && !it->second.empty()) {
            void* p = it->second.back();
            it->second.pop_back();
            c.stats.cache_hits++;
            c.stats.live_blocks++;
            c.stats.bytes_in_use += cls;
            c.stats.peak_bytes_in_use = std::max(c.stats.peak_bytes_in_use, c.stats.bytes_in_use);
            return p;
        }
    }
    void* p = Cache::system_alloc(cls);
    std::lock_guard<std::mutex> lock(c.mu);
    c.stats.system_allocations++;
    c.stats.live_blocks++;
    c.stats.bytes_in_use += cls;
    c.stats.peak_bytes_in_use = std::max(c.stats.peak_bytes_in_use, c.stats.bytes_in_use);
    c.stats.bytes_reserved += cls;
    return p;
}

void cache_free(void* p, size_t nbytes) {
    if (!p) return;
    size_t cls = size_class(nbytes);
    Cache& c = cache();
    {
        std::lock_guard<std::mutex> lock(c.mu);
        c.stats.live_blocks--;
        c.stats.bytes_in_use -= cls;
        if (return_freed_depth == 0) {
            c.free_blocks[cls].push_back(p);
            return;
        }
        c.stats.bytes_reserved -= cls;
    }
    Cache::system_free(p, cls);
}

AllocationLimit::AllocationLimit(int64_t bytes, std::string message)
    : left_(bytes), bytes_(bytes), message_(std::move(message)), outer_(active_limit) {
    active_limit = this;
}
AllocationLimit::~AllocationLimit() { active_limit = outer_; }

void AllocationLimit::charge(size_t bytes) {
    AllocationLimit& l = *active_limit;
    check<ValueError>(static_cast<uint64_t>(bytes) <= static_cast<uint64_t>(l.left_), l.message_,
                      " (it needs more than ", l.bytes_, " bytes)");
    l.left_ -= static_cast<int64_t>(bytes);
}

ReturnFreedBlocks::ReturnFreedBlocks() { ++return_freed_depth; }
ReturnFreedBlocks::~ReturnFreedBlocks() { --return_freed_depth; }

AllocatorStats allocator_stats() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    return c.stats;
}

void empty_cache() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    for (auto& [cls, blocks] : c.free_blocks) {
        for (void* p : blocks) Cache::system_free(p, cls);
        c.stats.bytes_reserved -= static_cast<int64_t>(cls * blocks.size());
        blocks.clear();
    }
}

}  // namespace cardinal
