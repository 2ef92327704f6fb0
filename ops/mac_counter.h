// Counting multiply-accumulates: while a MacCounter is alive on this thread, every conv2d and
// linear forward adds its MACs to it (like torch's FlopCounterMode). models/ uses it for the
// GMACs column of docs/models.md; docs/timm-configs.md section 10 counts exactly these two ops.
#pragma once
#include <cstdint>

namespace cardinal {

class MacCounter {
public:
    MacCounter();
    ~MacCounter();
    MacCounter(const MacCounter&) = delete;
    MacCounter& operator=(const MacCounter&) = delete;
    int64_t total() const { return total_; }

    // Called by the counted ops; a no-op when no counter is active.
    static void add(int64_t macs);

private:
    int64_t total_ = 0;
    MacCounter* outer_;
};

}  // namespace cardinal
