// `cardinal bench --peak`: this machine's float32 matrix-product speed right now, the ceiling the
// performance tables are read against (other jobs on a shared VM change it from run to run).
#pragma once
#include <cstdint>

namespace cardinal {

struct SgemmPeak {
    int64_t n = 2048;  // C[n,n] = A[n,n] B[n,n]
    double ms_min = 0, ms_median = 0;
    double gflop_s = 0;  // 2 n^3 / ms_min: the best the machine did
};

// `reps` timed dnnl_sgemm calls after one warm-up, on the current thread count.
SgemmPeak measure_sgemm_peak(int64_t reps, int64_t n = 2048);

}  // namespace cardinal
