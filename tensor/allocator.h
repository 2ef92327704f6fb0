// The caching allocator behind every tensor's storage.
//
// Why: on these machines the first touch of fresh memory costs ~11 us per 4 KiB page, so a
// training loop that frees and re-requests its activations every step spends most of its time
// in page faults. Freed blocks go to a free list keyed by size class and are handed out again;
// big blocks are mapped with MADV_HUGEPAGE. Memory returns to the system only on empty_cache()
// and inside a ReturnFreedBlocks scope.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace cardinal {

struct AllocatorStats {
    int64_t system_allocations = 0;  // blocks obtained from the OS so far
    int64_t live_blocks = 0;         // blocks currently handed out (live tensor storages)
    int64_t bytes_in_use = 0;        // bytes of those blocks (size-class rounded)
    int64_t peak_bytes_in_use = 0;   // the most bytes_in_use has been
    int64_t bytes_reserved = 0;      // bytes held from the OS: in use + cached
    int64_t cache_hits = 0;          // requests served from the free lists
};

// 64-byte aligned block of at least `nbytes` (nbytes 0 gives a valid minimal block).
void* cache_alloc(size_t nbytes);
// Returns a block obtained from cache_alloc with the same nbytes.
void cache_free(void* p, size_t nbytes);

AllocatorStats allocator_stats();
// Gives every cached (free) block back to the system.
void empty_cache();

// While one is alive, the blocks this thread frees go back to the system instead of to the free
// lists. For one-off temporaries whose sizes no later request repeats (a weight derived only to
// be reordered into a convolution's layout, the scratch of building a model): cached, they would
// stay resident for the life of the process. Nests.
class ReturnFreedBlocks {
public:
    ReturnFreedBlocks();
    ~ReturnFreedBlocks();
    ReturnFreedBlocks(const ReturnFreedBlocks&) = delete;
    ReturnFreedBlocks& operator=(const ReturnFreedBlocks&) = delete;
};

// While one is alive, the tensor storage this thread allocates may total at most `bytes`
// (blocks freed meanwhile do not count back); the allocation that would go over throws a
// ValueError with `message`. For building something whose size an untrusted file chose (a
// model from a checkpoint's kwargs) before the memory it describes is committed. Nests: the
// innermost applies.
class AllocationLimit {
public:
    AllocationLimit(int64_t bytes, std::string message);
    ~AllocationLimit();
    AllocationLimit(const AllocationLimit&) = delete;
    AllocationLimit& operator=(const AllocationLimit&) = delete;

    // Called by cache_alloc for a block of `bytes` on this thread.
    static void charge(size_t bytes);

private:
    int64_t left_;
    const int64_t bytes_;
    const std::string message_;
    AllocationLimit* const outer_;
};

}  // namespace cardinal
