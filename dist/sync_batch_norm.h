// --sync-bn over MPI: the ReplicaSum (ops/batch_norm.h) that sync_batch_norm2d, and every
// BatchNorm2d given it (BatchNorm2d::set_replica_sum), sums its statistics with. The sums run
// on the Comm's own communicator for statistics, so they never interleave with GradSync's
// buckets, and wait with its bounded wait (dist/comm.h).
#pragma once
#include <memory>

#include "dist/comm.h"
#include "ops/batch_norm.h"

namespace cardinal::dist {

// A ReplicaSum over the ranks of `comm` (which must outlive it).
std::shared_ptr<const ReplicaSum> replica_sum(const Comm& comm);

}  // namespace cardinal::dist
