// The MPI world this process trains in: initialisation, rank and size, and the few
// collectives data-parallel training needs (docs/distributed.md).
//
// One Comm per process. It initialises MPI (MPI_THREAD_FUNNELED: only the thread that runs
// backward calls MPI; the OpenMP kernel threads never do) unless the program already has, and
// finalises it on destruction if it initialised it. Every MPI failure becomes one
// cardinal::Error line naming the call and this rank (MPI_ERRORS_RETURN on the world).
#pragma once
#include <cstdint>
#include <string>

#include "tensor/dtype.h"

namespace cardinal::dist {

class Comm {
  public:
    Comm(int* argc, char*** argv);
    ~Comm();
    Comm(const Comm&) = delete;
    Comm& operator=(const Comm&) = delete;

    int rank() const { return rank_; }
    int size() const { return size_; }

    // In-place sum over all ranks of n elements of `dtype` (Float32 or Float64).
    void allreduce_sum(void* data, int64_t n, DType dtype) const;
    double allreduce_sum(double value) const;
    double allreduce_max(double value) const;
    double allreduce_min(double value) const;
    void barrier() const;

    // Throws cardinal::Error "<what>: MPI error on rank R: <MPI's message>" unless rc is MPI_SUCCESS.
    void check_mpi(int rc, const char* what) const;

  private:
    int rank_ = 0;
    int size_ = 1;
    bool owns_mpi_ = false;
};

}  // namespace cardinal::dist
