// The caching allocator (tensor/allocator.h): freed blocks are cached and handed out again,
// except inside a ReturnFreedBlocks scope, where they go back to the system.
#include <catch2/catch.hpp>

#include "tensor/allocator.h"
#include "tensor/tensor.h"

using namespace cardinal;

namespace {
// A size no other test or static of this binary asks for, so the free lists start empty of it.
constexpr int64_t kOddFloats = 3 * (1 << 20) / 4 + 12345;
}  // namespace

TEST_CASE("a freed block is cached and handed out again", "[tensor][allocator]") {
    { Tensor t = empty({kOddFloats}); }  // now one block of this class is cached
    const AllocatorStats before = allocator_stats();
    { Tensor t = empty({kOddFloats}); }
    const AllocatorStats after = allocator_stats();
    CHECK(after.cache_hits == before.cache_hits + 1);
    CHECK(after.system_allocations == before.system_allocations);
    CHECK(after.bytes_reserved == before.bytes_reserved);
}

TEST_CASE("inside ReturnFreedBlocks freed blocks go back to the system", "[tensor][allocator]") {
    const AllocatorStats start = allocator_stats();
    {
        ReturnFreedBlocks scratch;
        {
            ReturnFreedBlocks nested;
            Tensor t = empty({kOddFloats + 1000000});  // a class of its own: a fresh block
            CHECK(allocator_stats().bytes_reserved > start.bytes_reserved);
        }
        CHECK(allocator_stats().bytes_reserved == start.bytes_reserved);  // returned, not cached
        Tensor u = empty({kOddFloats + 1000000});
        CHECK(allocator_stats().system_allocations == start.system_allocations + 2);  // no hit
    }
    // Outside the scope (the nested one closed too) freeing caches again.
    const AllocatorStats mid = allocator_stats();
    { Tensor v = empty({kOddFloats + 2000000}); }
    CHECK(allocator_stats().bytes_reserved > mid.bytes_reserved);
    CHECK(allocator_stats().bytes_in_use == mid.bytes_in_use);
}

TEST_CASE("an AllocationLimit refuses the allocation that would go over it", "[tensor][allocator]") {
    {
        AllocationLimit limit(1 << 20, "building the thing");
        Tensor a = empty({100000});  // 400 KB
        { Tensor b = empty({100000}); }  // freed blocks do not count back
        CHECK_THROWS_WITH(empty({100000}), Catch::Contains("building the thing (it needs more "
                                                           "than 1048576 bytes)"));
        {
            AllocationLimit inner(1 << 30, "inner");  // the innermost applies
            Tensor c = empty({1000000});
        }
        CHECK_THROWS_AS(empty({60000}), ValueError);  // the outer one still has < 240 KB left
    }
    Tensor free = empty({1000000});  // no limit once it is gone
    CHECK(free.numel() == 1000000);
}
