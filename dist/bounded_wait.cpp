// The bounded wait (dist/bounded_wait.h). A blocking MPI call waits for a dead or hung rank
// forever; here every wait polls MPI_Test against a deadline.
//
// The roll call names the culprit. Every rank that waits also answers "are you there?"
// messages (tag kAsk on the control communicator) from its polling loop. A rank whose wait
// passes the deadline sends kAsk to every other rank and collects answers for a short grace
// period: a rank that answers is waiting too (alive, stuck behind someone), one that does not
// is hung outside any collective or dead. The line printed names the silent ones.
#include "dist/bounded_wait.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace cardinal::dist {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kAsk = 101, kAnswer = 102;

void answer_roll_calls(const Comm& comm) {
    MPI_Comm control = comm.handles().control;
    for (;;) {
        int flag = 0;
        MPI_Status status;
        if (MPI_Iprobe(MPI_ANY_SOURCE, kAsk, control, &flag, &status) != MPI_SUCCESS || !flag) return;
        int64_t asked = 0;
        MPI_Recv(&asked, 1, MPI_INT64_T, status.MPI_SOURCE, kAsk, control, MPI_STATUS_IGNORE);
        int64_t waits = comm.handles().waits;
        MPI_Send(&waits, 1, MPI_INT64_T, status.MPI_SOURCE, kAnswer, control);  // 8 bytes: eager
    }
}

[[noreturn]] void report_and_abort(const Comm& comm, const char* what) {
    MPI_Comm control = comm.handles().control;
    const int k = comm.size(), me = comm.rank();
    int64_t waits = comm.handles().waits;
    for (int r = 0; r < k; ++r)
        if (r != me) MPI_Send(&waits, 1, MPI_INT64_T, r, kAsk, control);  // errors ignored: r may be gone
    std::vector<bool> answered(k, false);
    answered[me] = true;
    const double grace = std::min(2.0, comm.timeout_seconds());
    const auto end = Clock::now() + std::chrono::duration<double>(grace);
    while (Clock::now() < end && std::count(answered.begin(), answered.end(), false) > 0) {
        answer_roll_calls(comm);
        int flag = 0;
        MPI_Status status;
        if (MPI_Iprobe(MPI_ANY_SOURCE, kAnswer, control, &flag, &status) == MPI_SUCCESS && flag) {
            int64_t theirs = 0;
            MPI_Recv(&theirs, 1, MPI_INT64_T, status.MPI_SOURCE, kAnswer, control, MPI_STATUS_IGNORE);
            answered[status.MPI_SOURCE] = true;
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    std::string silent;
    for (int r = 0; r < k; ++r)
        if (!answered[r]) silent += (silent.empty() ? "" : ", ") + std::to_string(r);
    const std::string verdict =
        silent.empty() ? "every rank answered, so they wait in different collectives (a rank took another path)"
                       : (silent.find(',') == std::string::npos ? "rank " : "ranks ") + silent +
                             " did not answer (hung outside MPI, or dead)";
    std::fprintf(stderr, "cardinal: error: rank %d of %d: %s did not complete within %g s; %s; stopping the run\n",
                 me, k, what, comm.timeout_seconds(), verdict.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::abort();  // MPI_Abort does not return
}

}  // namespace

void wait_bounded(const Comm& comm, MPI_Request& request, const char* what) {
    ++comm.handles().waits;
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration<double>(comm.timeout_seconds());
    for (int polls = 0;; ++polls) {
        int done = 0;
        comm.check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
        if (done) return;
        answer_roll_calls(comm);
        // Spin for the first polls (a small reduction completes in microseconds), then sleep
        // between them so a waiting rank leaves the cores to the ranks still computing.
        if (polls < 200) continue;
        if (Clock::now() > deadline) report_and_abort(comm, what);
        std::this_thread::sleep_for(std::chrono::microseconds(polls < 2000 ? 20 : 200));
    }
}

void allreduce_bounded(const Comm& comm, MPI_Comm on, void* data, int count, MPI_Datatype type,
                       const char* what) {
    MPI_Request request = MPI_REQUEST_NULL;
    comm.check_mpi(MPI_Iallreduce(MPI_IN_PLACE, data, count, type, MPI_SUM, on, &request), what);
    wait_bounded(comm, request, what);
}

}  // namespace cardinal::dist
