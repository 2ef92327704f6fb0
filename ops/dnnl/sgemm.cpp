#include "ops/dnnl/sgemm.h"

#include <oneapi/dnnl/dnnl.h>

#include "tensor/error.h"

namespace cardinal::onednn {

void sgemm(char ta, char tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
    const dnnl_status_t s = dnnl_sgemm(ta, tb, M, N, K, 1.f, A, lda, B, ldb, beta, C, ldc);
    check<ValueError>(s == dnnl_success, "sgemm: dnnl_sgemm failed with status ",
                      static_cast<int>(s), " for M=", M, " N=", N, " K=", K);
}

}  // namespace cardinal::onednn
