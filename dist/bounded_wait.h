// Inside dist/: the MPI handles behind a Comm and the bounded wait every collective goes through.
//
// Three duplicates of MPI_COMM_WORLD keep independent streams of collectives apart, since MPI
// matches collectives on a communicator by their order: `grads` carries GradSync's buckets
// (started from backward's hooks), `stats` the synchronised BatchNorm statistics (issued from
// forward and backward nodes), `control` everything else plus the roll call of a timeout.
#pragma once
#include <mpi.h>

#include <cstdint>

#include "dist/comm.h"

namespace cardinal::dist {

struct Comm::Handles {
    MPI_Comm grads = MPI_COMM_NULL, stats = MPI_COMM_NULL, control = MPI_COMM_NULL;
    int64_t waits = 0;  // bounded waits begun (a roll call's answer)
};

// Waits for `request` (MPI_Test polled, sleeping between polls once it takes longer than a few
// microseconds), answering other ranks' roll calls meanwhile. Past comm.timeout_seconds() it
// names the ranks that do not answer, prints one line to stderr and aborts the run.
// `what` names the operation in that line ("gradient bucket 3 of 7").
void wait_bounded(const Comm& comm, MPI_Request& request, const char* what);

// A non-blocking in-place sum on `on`, waited for as above.
void allreduce_bounded(const Comm& comm, MPI_Comm on, void* data, int count, MPI_Datatype type,
                       const char* what);

MPI_Datatype mpi_type(DType dtype);

}  // namespace cardinal::dist
