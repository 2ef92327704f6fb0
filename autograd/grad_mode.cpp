#include "autograd/grad_mode.h"

#include <atomic>

namespace cardinal {
namespace {
thread_local bool g_grad_enabled = true;
std::atomic<bool> g_anomaly{false};
}  // namespace

bool grad_mode_enabled() { return g_grad_enabled; }
void set_grad_mode(bool enabled) { g_grad_enabled = enabled; }
bool anomaly_mode_enabled() { return g_anomaly.load(std::memory_order_relaxed); }
void set_anomaly_mode(bool enabled) { g_anomaly.store(enabled); }

}  // namespace cardinal
