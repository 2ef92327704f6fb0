// The MPI world this process trains in: initialisation, rank and size, and the few
// collectives data-parallel training needs (docs/distributed.md).
//
// One Comm per process. It initialises MPI (MPI_THREAD_FUNNELED: only the thread that runs
// backward calls MPI; the OpenMP kernel threads never do) unless the program already has, and
// finalises it on destruction if it initialised it. Every MPI failure becomes one
// cardinal::Error line naming the call and this rank (MPI_ERRORS_RETURN on the world).
//
// Every wait is bounded: collectives are non-blocking and polled (dist/bounded_wait.h), and a
// wait longer than timeout_seconds() means a rank died or hangs. The waiting rank then asks
// every other rank whether it is alive (a roll call the waiting ranks answer from their polling
// loops), prints one line naming the ranks that did not answer, and aborts the whole run
// (MPI_Abort: a hung rank cannot be waited for, and MPI_Finalize would wait for it).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "tensor/dtype.h"

namespace cardinal::dist {

// The seconds a wait may take before the run is declared stuck: CARDINAL_DIST_TIMEOUT when set
// (a ValueError unless it is a positive number), else 300.
double default_timeout_seconds();

// True when this process was started by mpirun / an MPI launcher (Open MPI's, or a PMI/PMIx
// one): programs initialise MPI only then, so a plain run never touches it.
bool launched_by_mpi();

class Comm {
  public:
    Comm(int* argc, char*** argv, double timeout_seconds = default_timeout_seconds());
    ~Comm();  // a bounded barrier, then MPI_Finalize (when this Comm initialised MPI)
    Comm(const Comm&) = delete;
    Comm& operator=(const Comm&) = delete;

    int rank() const { return rank_; }
    int size() const { return size_; }
    double timeout_seconds() const { return timeout_; }
    void set_timeout_seconds(double seconds);

    // In-place sum over all ranks of n elements of `dtype` (Float32, Float64 or Int64); `what`
    // names the reduction in a timeout message.
    void allreduce_sum(void* data, int64_t n, DType dtype, const char* what = "allreduce") const;
    double allreduce_sum(double value) const;
    double allreduce_max(double value) const;
    double allreduce_min(double value) const;
    void barrier(const char* what = "barrier") const;

    // Throws cardinal::Error "<what>: MPI error on rank R: <MPI's message>" unless rc is MPI_SUCCESS.
    void check_mpi(int rc, const char* what) const;

    // MPI handles (dist/bounded_wait.h defines it; only dist/ sources use it).
    struct Handles;
    Handles& handles() const { return *handles_; }

  private:
    int rank_ = 0;
    int size_ = 1;
    double timeout_ = 300;
    bool owns_mpi_ = false;
    std::unique_ptr<Handles> handles_;
};

}  // namespace cardinal::dist
