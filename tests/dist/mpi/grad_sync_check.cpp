// Run under mpirun with K ranks: data-parallel SGD steps with dist::GradSync, checking after
// every step that
//   1. every rank holds bit-identical parameters, and
//   2. they match (float32 tolerance) one process training on the whole global batch (each rank
//      trains that reference model itself, on the same seeded data).
// The global batch is split into K contiguous shards; with a batch K does not divide the first
// shards get one sample more, and each rank's gradient share is its n_r / N. Runs both with the
// buckets started from backward (overlap) and all in finish(), several buckets each.
// Usage: grad_sync_check GLOBAL_BATCH STEPS. Exit 0 on success, 1 with one line on a mismatch.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "autograd/engine.h"
#include "dist/comm.h"
#include "dist/grad_sync.h"
#include "nn/layers/linear.h"
#include "ops/activation.h"
#include "ops/loss.h"
#include "optim/sgd.h"
#include "tensor/random.h"

using namespace cardinal;

namespace {

struct Mlp {
    Linear l1, l2;
    explicit Mlp(Generator& g) : l1(6, 16, true, &g), l2(16, 3, true, &g) {}
    Tensor forward(const Tensor& x) { return l2.forward(relu(l1.forward(x))); }
    std::vector<Tensor> parameters() const {
        auto a = l1.parameters(), b = l2.parameters();
        a.insert(a.end(), b.begin(), b.end());
        return a;
    }
};

// FNV-1a of a float32 parameter's bytes, cut to 52 bits so a double carries it exactly.
double fingerprint(const Tensor& p) {
    const auto* bytes = static_cast<const unsigned char*>(p.raw_data());
    uint64_t h = 1469598103934665603ull;
    for (int64_t i = 0; i < p.numel() * 4; ++i) h = (h ^ bytes[i]) * 1099511628211ull;
    return static_cast<double>(h >> 12);
}

int run(const dist::Comm& comm, int64_t global_batch, int steps, bool overlap) {
    const int K = comm.size(), r = comm.rank();
    Generator init_a(7), init_b(7);
    Mlp model(init_a), reference(init_b);
    SGDOptions opt;
    opt.lr = 0.1;
    opt.momentum = 0.9;
    SGD sgd(model.parameters(), opt), sgd_ref(reference.parameters(), opt);
    dist::GradSyncOptions sync_options;
    sync_options.bucket_mb = 200.0 / (1024 * 1024);  // 200 bytes: several buckets for this model
    sync_options.overlap = overlap;
    dist::GradSync sync(comm, model.parameters(), sync_options);
    if (sync.num_buckets() < 3) {  // same on every rank
        std::fprintf(stderr, "expected several buckets, got %ld\n", static_cast<long>(sync.num_buckets()));
        return 1;
    }
    // This rank's shard of every global batch: contiguous, the first N % K shards one larger.
    const int64_t base = global_batch / K, extra = global_batch % K;
    const int64_t n_r = base + (r < extra ? 1 : 0);
    const int64_t start = r * base + std::min<int64_t>(r, extra);

    for (int step = 0; step < steps; ++step) {
        Generator data(1000 + step);
        Tensor x = randn({global_batch, 6}, DType::Float32, &data);
        Tensor y = randn({global_batch, 3}, DType::Float32, &data);

        sgd.zero_grad();
        sync.begin(static_cast<double>(n_r) / global_batch);
        if (n_r > 0) backward(mse_loss(model.forward(x.narrow(0, start, n_r)), y.narrow(0, start, n_r)));
        sync.finish();
        // Every rank reaches the same collectives: a failure is noted, and all ranks stop together.
        int bad = 0;
        if (overlap && n_r > 0 && sync.started_during_backward() == 0) {
            std::fprintf(stderr, "rank %d: overlap on but no bucket started during backward\n", r);
            bad = 1;
        }
        if (!overlap && sync.started_during_backward() != 0) {
            std::fprintf(stderr, "rank %d: overlap off but a bucket started during backward\n", r);
            bad = 1;
        }
        sgd.step();

        sgd_ref.zero_grad();
        backward(mse_loss(reference.forward(x), y));
        sgd_ref.step();

        const auto ps = model.parameters(), rs = reference.parameters();
        for (size_t i = 0; i < ps.size(); ++i) {
            const double f = fingerprint(ps[i]);
            if (comm.allreduce_min(f) != comm.allreduce_max(f)) {
                if (r == 0) std::fprintf(stderr, "step %d: parameter %zu differs between ranks\n", step, i);
                bad = 1;
            }
            const float* a = ps[i].data<float>();
            const float* b = rs[i].data<float>();
            for (int64_t k = 0; k < ps[i].numel(); ++k)
                if (std::fabs(a[k] - b[k]) > 1e-5f * (1.0f + std::fabs(b[k]))) {
                    std::fprintf(stderr, "rank %d step %d: parameter %zu element %ld is %.9g, one process on "
                                 "the global batch gives %.9g\n", r, step, i, static_cast<long>(k), a[k], b[k]);
                    bad = 1;
                    break;
                }
        }
        if (comm.allreduce_max(bad) != 0) return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    dist::Comm comm(&argc, &argv);
    if (argc != 3) {
        if (comm.rank() == 0) std::fprintf(stderr, "usage: grad_sync_check GLOBAL_BATCH STEPS\n");
        return 2;
    }
    const int64_t global_batch = std::atoll(argv[1]);
    const int steps = std::atoi(argv[2]);
    for (bool overlap : {true, false}) {
        if (run(comm, global_batch, steps, overlap) != 0) return 1;  // all ranks return together
        if (comm.rank() == 0)
            std::printf("K=%d global batch %ld, %d steps, overlap %s: parameters identical on every rank "
                        "and equal to one process\n", comm.size(), static_cast<long>(global_batch), steps,
                        overlap ? "on" : "off");
    }
    return 0;
}
