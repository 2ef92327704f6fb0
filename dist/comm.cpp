#include "dist/comm.h"

#include <mpi.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <string>

#include "dist/bounded_wait.h"
#include "tensor/error.h"

namespace cardinal::dist {

double default_timeout_seconds() {
    const char* env = std::getenv("CARDINAL_DIST_TIMEOUT");
    if (env == nullptr || *env == '\0') return 300.0;
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    check<ValueError>(end != env && *end == '\0' && v > 0,
                      "CARDINAL_DIST_TIMEOUT: expected a positive number of seconds, got '", env, "'");
    return v;
}

bool launched_by_mpi() {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
        if (std::getenv(v) != nullptr) return true;
    return false;
}

MPI_Datatype mpi_type(DType dtype) {
    if (dtype == DType::Float32) return MPI_FLOAT;
    if (dtype == DType::Float64) return MPI_DOUBLE;
    if (dtype == DType::Int64) return MPI_INT64_T;
    fail<DTypeError>("dist: expected float32, float64 or int64 data to reduce, got ", dtype_name(dtype));
}

Comm::Comm(int* argc, char*** argv, double timeout_seconds) : handles_(std::make_unique<Handles>()) {
    set_timeout_seconds(timeout_seconds);
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
    // Duplicates inherit the error handler.
    for (MPI_Comm* c : {&handles_->grads, &handles_->stats, &handles_->control})
        check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, c), "MPI_Comm_dup");
}

Comm::~Comm() {
    // Unwinding from an error on this rank: the program reports it and exits without
    // MPI_Finalize, and mpirun ends the job (a barrier here would wait for ranks that are
    // waiting in another collective).
    if (std::uncaught_exceptions() > 0) return;
    try {
        barrier("the barrier before MPI_Finalize");  // a rank hung at the end aborts here
    } catch (const Error&) {
    }
    for (MPI_Comm* c : {&handles_->grads, &handles_->stats, &handles_->control})
        if (*c != MPI_COMM_NULL) MPI_Comm_free(c);
    if (!owns_mpi_) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}

void Comm::set_timeout_seconds(double seconds) {
    check<ValueError>(seconds > 0, "dist timeout: expected a positive number of seconds, got ", seconds);
    timeout_ = seconds;
}

void Comm::check_mpi(int rc, const char* what) const {
    if (rc == MPI_SUCCESS) return;
    char message[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, message, &len);
    fail<Error>(what, ": MPI error on rank ", rank_, ": ", std::string(message, len));
}

void Comm::allreduce_sum(void* data, int64_t n, DType dtype, const char* what) const {
    check<ValueError>(n >= 0 && n <= INT32_MAX, "allreduce_sum: expected 0..", INT32_MAX,
                      " elements, got ", n);
    allreduce_bounded(*this, handles_->control, data, static_cast<int>(n), mpi_type(dtype), what);
}

namespace {

double allreduce_one(const Comm& comm, double value, MPI_Op op, const char* what) {
    MPI_Request request = MPI_REQUEST_NULL;
    comm.check_mpi(MPI_Iallreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, op, comm.handles().control, &request),
                   what);
    wait_bounded(comm, request, what);
    return value;
}

}  // namespace

double Comm::allreduce_sum(double value) const { return allreduce_one(*this, value, MPI_SUM, "allreduce (sum)"); }
double Comm::allreduce_max(double value) const { return allreduce_one(*this, value, MPI_MAX, "allreduce (max)"); }
double Comm::allreduce_min(double value) const { return allreduce_one(*this, value, MPI_MIN, "allreduce (min)"); }

void Comm::barrier(const char* what) const {
    MPI_Request request = MPI_REQUEST_NULL;
    check_mpi(MPI_Ibarrier(handles_->control, &request), what);
    wait_bounded(*this, request, what);
}

}  // namespace cardinal::dist
