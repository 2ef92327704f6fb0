// Timing shared by the benchmarks: the fastest of `reps` calls after one warm-up call (other
// processes on the machine can only add time, so the minimum is the least noisy figure).
#pragma once
#include <algorithm>
#include <chrono>
#include <functional>

namespace cardinal::bench {

inline double best_seconds(const std::function<void()>& fn, int reps) {
    fn();
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
        auto start = std::chrono::steady_clock::now();
        fn();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return best;
}

}  // namespace cardinal::bench
