// TrainDist over MPI (dist/) when the build has it; the one-rank base class otherwise. The
// #if is the one place apps/ sees whether MPI was found (CARDINAL_HAVE_MPI, set by CMake).
#include "apps/train_dist.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "apps/commands.h"
#include "apps/evaluate.h"
#include "tensor/error.h"

#if CARDINAL_HAVE_MPI
#include "dist/comm.h"
#include "dist/grad_sync.h"
#include "dist/sync_batch_norm.h"
#include "nn/layers/batch_norm.h"
#endif

namespace cardinal::apps {
namespace {

#if CARDINAL_HAVE_MPI

// FNV-1a of a tensor's bytes, cut to 52 bits so that a double carries it exactly.
double fingerprint(const Tensor& t) {
    const Tensor c = t.contiguous();
    const auto* bytes = static_cast<const unsigned char*>(c.raw_data());
    const int64_t n = c.numel() * static_cast<int64_t>(dtype_size(c.dtype()));  // numel() is not free
    uint64_t h = 1469598103934665603ull;
    for (int64_t i = 0; i < n; ++i) h = (h ^ bytes[i]) * 1099511628211ull;
    return static_cast<double>(h >> 12);
}

class MpiTrainDist : public TrainDist {
  public:
    explicit MpiTrainDist(const TrainOptions& o)
        : comm_(nullptr, nullptr, o.dist_timeout > 0 ? o.dist_timeout : dist::default_timeout_seconds()) {}

    int rank() const override { return comm_.rank(); }
    int size() const override { return comm_.size(); }

    int default_threads() const override {
        if (std::getenv("CARDINAL_NUM_THREADS") || std::getenv("OMP_NUM_THREADS")) return 0;
        const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
        const int ranks_here = local ? std::max(1, std::atoi(local)) : 1;
        const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        return std::max(1, cores / ranks_here);
    }

    void attach(Module& model, const TrainOptions& o) override {
        dist::GradSyncOptions go;
        go.bucket_mb = o.bucket_mb;
        go.overlap = o.overlap;
        params_ = model.named_parameters();  // once: building the names costs milliseconds
        sync_ = std::make_unique<dist::GradSync>(comm_, model.parameters(), go);
        if (o.sync_bn) {
            const auto sum = dist::replica_sum(comm_);
            for (auto& [name, m] : model.named_modules())
                if (auto* bn = dynamic_cast<BatchNorm2d*>(m)) bn->set_replica_sum(sum);
        }
    }
    void begin_backward(double share) override { sync_->begin(share); }
    void end_backward() override { sync_->finish(); }

    void sum(double* values, int64_t n) const override {
        comm_.allreduce_sum(values, n, DType::Float64, "the allreduce of training metrics");
    }

    void check_replicas(const Module&, const std::string& when) const override {
        // One fingerprint of all parameters (two collectives); per parameter only to name one.
        double all = 0;
        for (const auto& [name, p] : params_) all = std::fmod(all * 31 + fingerprint(p), 9007199254740881.0);
        if (comm_.allreduce_min(all) == comm_.allreduce_max(all)) return;
        for (const auto& [name, p] : params_) {
            const double f = fingerprint(p);
            check<Error>(comm_.allreduce_min(f) == comm_.allreduce_max(f), "--check-replicas: parameter ",
                         name, " differs between the ranks ", when);
        }
        fail<Error>("--check-replicas: the parameters differ between the ranks ", when);
    }

  private:
    dist::Comm comm_;  // first member: the last to go, after GradSync's requests
    std::unique_ptr<dist::GradSync> sync_;
    NamedTensors params_;  // of the attached model
};

#endif

}  // namespace

bool built_with_mpi() { return CARDINAL_HAVE_MPI != 0; }

std::unique_ptr<TrainDist> TrainDist::create(const TrainOptions& o) {
    check<UsageError>(o.bucket_mb > 0, "train: --bucket-mb must be positive, got ", o.bucket_mb);
    check<UsageError>(o.dist_timeout >= 0, "train: --dist-timeout must be >= 0 seconds (0: CARDINAL_DIST_TIMEOUT or 300), got ",
                      o.dist_timeout);
#if CARDINAL_HAVE_MPI
    if (dist::launched_by_mpi()) {
        auto d = std::make_unique<MpiTrainDist>(o);
        // Rank 0 says it (one line); the others wait for mpirun to end the job when it exits.
        if (o.batch % d->size() != 0 && !d->root())
            for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
        check<UsageError>(o.batch % d->size() == 0, "train: --batch ", o.batch, " does not split over the ",
                          d->size(), " ranks of mpirun -np ", d->size(), " (give a multiple of ", d->size(), ")");
        return d;
    }
    return std::make_unique<TrainDist>();
#else
    return std::make_unique<TrainDist>();  // cmd_train refuses the distributed flags (exit 2)
#endif
}

void sum_eval(EvalResult& r, const TrainDist& dist) {
    std::vector<double> v(2 + r.confusion.size());
    v[0] = r.loss * static_cast<double>(r.count);
    v[1] = static_cast<double>(r.count);
    for (size_t i = 0; i < r.confusion.size(); ++i) v[2 + i] = static_cast<double>(r.confusion[i]);
    dist.sum(v.data(), static_cast<int64_t>(v.size()));
    r.count = static_cast<int64_t>(v[1]);
    int64_t correct = 0;
    for (size_t i = 0; i < r.confusion.size(); ++i) {
        r.confusion[i] = static_cast<int64_t>(v[2 + i]);
        if (static_cast<int64_t>(i) % (r.num_classes + 1) == 0) correct += r.confusion[i];
    }
    r.loss = r.count ? v[0] / v[1] : 0;
    r.accuracy = r.count ? static_cast<double>(correct) / v[1] : 0;
}

void check_global_batch(int ranks, int64_t batch, int64_t images, bool drop_last) {
    const int64_t last = images % batch;
    check<UsageError>(drop_last || last == 0 || last >= ranks, "train: the last batch of ", last,
                      " image(s) cannot give each of the ", ranks,
                      " ranks one (use --drop-last, or a --limit-train that leaves at least ", ranks, ")");
}

}  // namespace cardinal::apps
