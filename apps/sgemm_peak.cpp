#include "apps/sgemm_peak.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "apps/model_bench.h"
#include "ops/dnnl/sgemm.h"
#include "tensor/error.h"

namespace cardinal {

SgemmPeak measure_sgemm_peak(int64_t reps, int64_t n) {
    check<ValueError>(reps >= 1, "sgemm peak: reps must be at least 1, got ", reps);
    check<ValueError>(n >= 1, "sgemm peak: n must be at least 1, got ", n);
    const size_t elems = static_cast<size_t>(n) * static_cast<size_t>(n);
    std::vector<float> a(elems, 1.0f), b(elems, 0.5f), c(elems, 0.0f);
    auto call = [&] { onednn::sgemm('N', 'N', n, n, n, a.data(), n, b.data(), n, 0.f, c.data(), n); };
    call();  // warm-up: first touch of the buffers, kernel generation
    std::vector<double> ms;
    for (int64_t r = 0; r < reps; ++r) {
        const auto start = std::chrono::steady_clock::now();
        call();
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count());
    }
    SgemmPeak p;
    p.n = n;
    p.ms_min = *std::min_element(ms.begin(), ms.end());
    p.ms_median = median(ms);
    p.gflop_s = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) /
                (p.ms_min * 1e6);
    return p;
}

}  // namespace cardinal
