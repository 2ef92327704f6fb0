// Whether operations are recorded for backward (per thread), and anomaly mode.
#pragma once

namespace cardinal {

bool grad_mode_enabled();
void set_grad_mode(bool enabled);

// While alive, nothing is recorded: the way to run inference or update weights in place.
class NoGradGuard {
public:
    NoGradGuard() : prev_(grad_mode_enabled()) { set_grad_mode(false); }
    ~NoGradGuard() { set_grad_mode(prev_); }
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool prev_;
};

// Anomaly mode: every recorded forward output and every gradient computed in backward is
// checked for NaN/Inf, and the error names the op that produced it. Slow; for debugging.
bool anomaly_mode_enabled();
void set_anomaly_mode(bool enabled);

class AnomalyModeGuard {
public:
    explicit AnomalyModeGuard(bool enabled = true) : prev_(anomaly_mode_enabled()) {
        set_anomaly_mode(enabled);
    }
    ~AnomalyModeGuard() { set_anomaly_mode(prev_); }
    AnomalyModeGuard(const AnomalyModeGuard&) = delete;
    AnomalyModeGuard& operator=(const AnomalyModeGuard&) = delete;

private:
    bool prev_;
};

}  // namespace cardinal
