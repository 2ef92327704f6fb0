#include "dist/comm.h"

#include <mpi.h>

#include <cstdint>

#include "tensor/error.h"

namespace cardinal::dist {
namespace {

MPI_Datatype mpi_type(DType dtype) {
    if (dtype == DType::Float32) return MPI_FLOAT;
    if (dtype == DType::Float64) return MPI_DOUBLE;
    fail<DTypeError>("dist: expected float32 or float64 data to reduce, got ", dtype_name(dtype));
}

}  // namespace

Comm::Comm(int* argc, char*** argv) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
        int provided = 0;
        check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
        owns_mpi_ = true;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

Comm::~Comm() {
    if (!owns_mpi_) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}

void Comm::check_mpi(int rc, const char* what) const {
    if (rc == MPI_SUCCESS) return;
    char message[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, message, &len);
    fail<Error>(what, ": MPI error on rank ", rank_, ": ", std::string(message, len));
}

void Comm::allreduce_sum(void* data, int64_t n, DType dtype) const {
    check<ValueError>(n >= 0 && n <= INT32_MAX, "allreduce_sum: expected 0..", INT32_MAX,
                      " elements, got ", n);
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), mpi_type(dtype), MPI_SUM,
                            MPI_COMM_WORLD),
              "MPI_Allreduce");
}

double Comm::allreduce_sum(double value) const {
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    return value;
}

double Comm::allreduce_max(double value) const {
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
    return value;
}

double Comm::allreduce_min(double value) const {
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
    return value;
}

void Comm::barrier() const { check_mpi(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

}  // namespace cardinal::dist
