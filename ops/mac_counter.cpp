#include "ops/mac_counter.h"

namespace cardinal {
namespace {
thread_local MacCounter* g_active = nullptr;
}

MacCounter::MacCounter() : outer_(g_active) { g_active = this; }
MacCounter::~MacCounter() { g_active = outer_; }

void MacCounter::add(int64_t macs) {
    for (MacCounter* c = g_active; c; c = c->outer_) c->total_ += macs;
}

}  // namespace cardinal
