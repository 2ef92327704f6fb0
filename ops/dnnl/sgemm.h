// oneDNN's float32 matrix product for callers above ops/ (`cardinal bench --peak`,
// apps/sgemm_peak.cpp, times it): oneDNN stays inside ops/, which the layer check enforces.
#pragma once
#include <cstdint>

namespace cardinal::onednn {

// Row-major C = op(A) op(B) + beta C, op = transpose when ta / tb is 'T' ('N': as stored);
// op(A) is M x K, op(B) is K x N, C is M x N. Throws ValueError naming oneDNN's status when it
// refuses.
void sgemm(char ta, char tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace cardinal::onednn
