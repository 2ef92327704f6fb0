#include "dist/sync_batch_norm.h"

#include "dist/bounded_wait.h"
#include "tensor/error.h"

namespace cardinal::dist {

std::shared_ptr<const ReplicaSum> replica_sum(const Comm& comm) {
    const Comm* c = &comm;
    return std::make_shared<const ReplicaSum>([c](double* values, int64_t n) {
        check<ValueError>(n >= 0 && n <= INT32_MAX, "replica sum: expected 0..", INT32_MAX, " values, got ", n);
        allreduce_bounded(*c, c->handles().stats, values, static_cast<int>(n), MPI_DOUBLE,
                          "the allreduce of BatchNorm statistics (--sync-bn)");
    });
}

}  // namespace cardinal::dist
