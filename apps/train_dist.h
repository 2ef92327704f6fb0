// Data parallelism for `cardinal train` (docs/distributed.md). Under `mpirun -np K` every rank
// trains a replica of the model on its shard of every global batch (LoaderOptions::shard), the
// gradients are combined by dist::GradSync, and rank 0 alone prints and writes; a plain run is
// the one-rank case of the same interface, so the trainer has one code path.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "apps/train_options.h"
#include "nn/module.h"

namespace cardinal::apps {

struct EvalResult;

// Whether this build has dist/ (MPI found at configure time).
bool built_with_mpi();

class TrainDist {
  public:
    // MPI when the process was started by mpirun and the build has MPI, one rank otherwise.
    // UsageError (exit 2) for --batch not divisible by the ranks, a bad --bucket-mb or
    // --dist-timeout, and for distributed flags given to a build without MPI.
    static std::unique_ptr<TrainDist> create(const TrainOptions& options);
    virtual ~TrainDist() = default;

    virtual int rank() const { return 0; }
    virtual int size() const { return 1; }
    bool root() const { return rank() == 0; }
    // Threads for a run that sets none: under mpirun with the environment silent, the cores
    // divided among this machine's ranks (they would oversubscribe them otherwise); 0: keep.
    virtual int default_threads() const { return 0; }

    // Gradient combination (and --sync-bn) for `model`; before its first step.
    virtual void attach(Module& model, const TrainOptions& options) {}
    // Around a step's backward: this rank's share n_r / N of the global batch, then every
    // rank's gradients are the combined ones.
    virtual void begin_backward(double share) {}
    virtual void end_backward() {}
    // In-place sums over the ranks (doubles carry counts exactly up to 2^53).
    virtual void sum(double* values, int64_t n) const {}
    // --check-replicas: throws unless every rank's parameters (the attached model's) are
    // bit-identical.
    virtual void check_replicas(const Module& model, const std::string& when) const {}
};

// The global batch must split over the ranks with every shard non-empty: `batch` divisible by
// `ranks` (UsageError otherwise) and, when the last batch is kept, at least `ranks` images in it.
void check_global_batch(int ranks, int64_t batch, int64_t images, bool drop_last);

// A sharded evaluation (each rank its part of every eval batch) summed over the ranks: count,
// confusion matrix and loss; the accuracy from the summed confusion matrix, so it equals one
// process's.
void sum_eval(EvalResult& result, const TrainDist& dist);

}  // namespace cardinal::apps
