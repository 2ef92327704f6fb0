// Gradient averaging for data-parallel training: after backward, every rank's parameters
// hold the same gradient, the sum over ranks of weight_r * grad_r.
//
// Weights: each rank's loss is the mean over its shard, so the gradient of the global batch's
// mean loss is sum_r (n_r / N) grad_r, n_r the shard's samples and N the global batch. A rank
// passes its n_r / N to begin(); equal shards give the plain average.
//
// Buckets: parameters are grouped, in reverse registration order (roughly the order backward
// finishes them), into buckets of about bucket_mb MiB, one dtype each. With overlap on, a
// bucket's MPI_Iallreduce starts as soon as the post-accumulate hook (autograd/hooks.h) has
// seen all its parameters, while backward computes the rest; finish() starts whatever is left
// and waits. Buckets start strictly in index order on every rank (a ready bucket waits for the
// ones before it), since MPI needs collectives issued in the same order everywhere. A
// parameter backward did not reach gets a zero gradient, so all ranks reduce the same buffers.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "dist/comm.h"
#include "tensor/tensor.h"

namespace cardinal::dist {

struct GradSyncOptions {
    double bucket_mb = 25.0;  // bucket size in MiB (a parameter larger than this gets its own)
    bool overlap = true;      // start buckets from backward (false: all in finish())
};

class GradSync {
  public:
    GradSync(const Comm& comm, std::vector<Tensor> params, const GradSyncOptions& options = {});
    ~GradSync();  // waits for started buckets, removes the hooks it registered
    GradSync(const GradSync&) = delete;
    GradSync& operator=(const GradSync&) = delete;

    // Before backward: this rank's share of the global batch (n_r / N, in [0, 1]).
    void begin(double weight);
    // After backward: every parameter's grad is the weighted sum over ranks.
    void finish();

    int64_t num_buckets() const;
    // How many buckets started from backward's hooks in the last step (the rest in finish()).
    int64_t started_during_backward() const;

  private:
    struct State;
    std::unique_ptr<State> s_;
};

}  // namespace cardinal::dist
