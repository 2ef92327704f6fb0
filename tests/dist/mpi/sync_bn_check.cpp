// Run under mpirun with K ranks: --sync-bn's BatchNorm (dist/sync_batch_norm.h) makes K ranks
// with shards of a global batch train exactly as one process on the whole batch. A small
// conv -> BatchNorm+ReLU -> conv -> BatchNorm -> pool -> linear network takes STEPS
// SGD-with-momentum steps; after each, every rank's parameters and running statistics must
// equal (float64: to 1e-10; float32: float32 reduction tolerance) those of a reference copy
// that every rank trains on the whole global batch with ordinary BatchNorm. With a batch K does
// not divide, the shards differ in size (7 over 3 ranks: 3, 2, 2): the statistics' combination
// and the backward's weighting by shard size are both exercised.
// Usage: sync_bn_check GLOBAL_BATCH STEPS float64|float32. Exit 0 on success, 1 with a line on
// a mismatch.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "data/loader.h"
#include "dist/comm.h"
#include "dist/grad_sync.h"
#include "dist/sync_batch_norm.h"
#include "nn/layers/batch_norm.h"
#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "ops/loss.h"
#include "ops/pooling.h"
#include "ops/shape_ops.h"
#include "optim/sgd.h"
#include "tensor/random.h"

using namespace cardinal;

namespace {

class Net : public Module {
  public:
    explicit Net(Generator& g) {
        conv1_ = register_module("conv1", std::make_shared<Conv2d>(Conv2dOptions(2, 4, 3).padding(1), &g));
        bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(4));
        conv2_ = register_module("conv2", std::make_shared<Conv2d>(Conv2dOptions(4, 3, 3).padding(1), &g));
        bn2_ = register_module("bn2", std::make_shared<BatchNorm2d>(3));
        fc_ = register_module("fc", std::make_shared<Linear>(3, 2, true, &g));
    }
    Tensor forward(const Tensor& x) override {
        Tensor y = bn1_->forward_relu(conv1_->forward(x));  // the fused path
        y = bn2_->forward(conv2_->forward(y));              // the plain one
        return fc_->forward(flatten(global_avg_pool2d(y), 1));
    }
    std::string type_name() const override { return "Net"; }

  private:
    std::shared_ptr<Conv2d> conv1_, conv2_;
    std::shared_ptr<BatchNorm2d> bn1_, bn2_;
    std::shared_ptr<Linear> fc_;
};

double max_relative_difference(const Tensor& a, const Tensor& b) {
    const std::vector<double> x = a.to_vector(), y = b.to_vector();
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i)
        worst = std::max(worst, std::fabs(x[i] - y[i]) / (1.0 + std::fabs(y[i])));
    return worst;
}

int run(const dist::Comm& comm, int64_t global_batch, int steps, DType dtype) {
    const int K = comm.size(), r = comm.rank();
    const double tolerance = dtype == DType::Float64 ? 1e-10 : 2e-5;
    Generator init_a(11), init_b(11);
    Net model(init_a), reference(init_b);
    model.to(dtype);
    reference.to(dtype);
    const auto sum = dist::replica_sum(comm);
    for (auto& [name, m] : model.named_modules())
        if (auto* bn = dynamic_cast<BatchNorm2d*>(m)) bn->set_replica_sum(sum);
    SGDOptions opt;
    opt.lr = 0.2;
    opt.momentum = 0.9;
    SGD sgd(model.parameters(), opt), sgd_ref(reference.parameters(), opt);
    dist::GradSync sync(comm, model.parameters());
    const ShardRange part = shard_range(global_batch, r, K);

    for (int step = 0; step < steps; ++step) {
        Generator data(500 + step);
        // Channel means far from 0 and unequal scales: the variance combination must be exact.
        Tensor x = randn({global_batch, 2, 5, 5}, DType::Float64, &data);
        {
            double* p = x.data<double>();
            for (int64_t i = 0; i < x.numel(); ++i) p[i] = p[i] * (1.0 + (i / 25) % 3) + 3.0;
        }
        x = x.to(dtype);
        Tensor y = randn({global_batch, 2}, dtype, &data);

        sgd.zero_grad();
        sync.begin(static_cast<double>(part.size()) / global_batch);
        backward(mse_loss(model.forward(x.narrow(0, part.begin, part.size())),
                          y.narrow(0, part.begin, part.size())));
        sync.finish();
        sgd.step();

        sgd_ref.zero_grad();
        backward(mse_loss(reference.forward(x), y));
        sgd_ref.step();

        int bad = 0;
        const NamedTensors a = model.state_dict(), b = reference.state_dict();
        for (size_t i = 0; i < a.size(); ++i) {
            if (!is_floating(a[i].second.dtype())) continue;
            const double d = max_relative_difference(a[i].second, b[i].second);
            if (d > tolerance) {
                std::fprintf(stderr, "rank %d step %d: %s differs from one process on the global batch by %.3g "
                             "(relative; tolerance %.3g)\n", r, step + 1, a[i].first.c_str(), d, tolerance);
                bad = 1;
            }
        }
        if (comm.allreduce_max(bad) != 0) return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    dist::Comm comm(&argc, &argv);
    const bool dtype_ok = argc == 4 && (std::strcmp(argv[3], "float64") == 0 || std::strcmp(argv[3], "float32") == 0);
    if (!dtype_ok) {
        if (comm.rank() == 0) std::fprintf(stderr, "usage: sync_bn_check GLOBAL_BATCH STEPS float64|float32\n");
        return 2;
    }
    const int64_t global_batch = std::atoll(argv[1]);
    const int steps = std::atoi(argv[2]);
    const DType dtype = std::strcmp(argv[3], "float64") == 0 ? DType::Float64 : DType::Float32;
    if (run(comm, global_batch, steps, dtype) != 0) return 1;
    if (comm.rank() == 0)
        std::printf("K=%d global batch %ld, %d steps, %s: --sync-bn weights and running statistics equal one "
                    "process on the whole batch\n", comm.size(), static_cast<long>(global_batch), steps, argv[3]);
    return 0;
}
