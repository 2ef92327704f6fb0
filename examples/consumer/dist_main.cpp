// Uses the installed package's optional component "dist" (cardinal::dist, built when cardinal
// found MPI): under mpirun, every rank contributes rank + 1 and the sum over ranks must be
// K(K+1)/2, and GradSync averages a gradient of rank + 1 into (K+1)/2 on every rank.
// Exits 0 when both hold on this rank; prints one line per rank.
#include <cstdio>
#include <vector>

#include "autograd/engine.h"
#include "autograd/variable.h"
#include "dist/comm.h"
#include "dist/grad_sync.h"
#include "ops/ops.h"
#include "tensor/tensor.h"

using namespace cardinal;

int main(int argc, char** argv) {
    dist::Comm comm(&argc, &argv);
    const int K = comm.size(), r = comm.rank();
    const double total = comm.allreduce_sum(static_cast<double>(r + 1));
    const bool sum_ok = total == K * (K + 1) / 2.0;

    // loss = (r + 1) * sum(w), so this rank's grad(w) is r + 1 everywhere; equal weights 1/K
    // make the synchronised gradient the mean over ranks, (K + 1) / 2.
    Tensor w = set_requires_grad(zeros({4}, DType::Float64));
    dist::GradSync sync(comm, {w});
    sync.begin(1.0 / K);
    backward(mul(sum(w), full({}, static_cast<double>(r + 1), DType::Float64)));
    sync.finish();
    bool grad_ok = true;
    for (double v : grad(w).to_vector()) grad_ok = grad_ok && v == (K + 1) / 2.0;
    std::printf("rank %d of %d: allreduce %s, grad sync %s\n", r, K, sum_ok ? "ok" : "WRONG",
                grad_ok ? "ok" : "WRONG");
    return sum_ok && grad_ok ? 0 : 1;
}
