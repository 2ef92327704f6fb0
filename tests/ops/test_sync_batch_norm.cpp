// sync_batch_norm2d without MPI: a replica sum over one replica (the identity) and over a twin
// (doubling: as if a second replica held a copy of the same shard) must give batch_norm2d's
// values and gradients, the twin with running_var unbiased over 2n values. The multi-rank
// checks with unequal shards are tests/dist/mpi/sync_bn_check.cpp.
#include <catch2/catch.hpp>
#include <memory>

#include "autograd/engine.h"
#include "autograd/variable.h"
#include "cnn_test_helpers.h"
#include "ops/batch_norm.h"
#include "tensor/error.h"

using namespace cardinal;
using namespace cardinal::test;

namespace {

std::shared_ptr<const ReplicaSum> times(double factor) {
    return std::make_shared<const ReplicaSum>([factor](double* v, int64_t n) {
        for (int64_t i = 0; i < n; ++i) v[i] *= factor;
    });
}

// Output and input gradients of `fn` for a fixed upstream gradient.
std::vector<Tensor> value_and_grads(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                                    const std::vector<Tensor>& inputs) {
    std::vector<Tensor> in;
    for (const Tensor& t : inputs) in.push_back(set_requires_grad(t.clone()));
    Tensor out = fn(in);
    Generator gen(5);
    backward(out, randn(out.shape(), out.dtype(), &gen));
    std::vector<Tensor> r{detach(out)};
    for (const Tensor& t : in) r.push_back(grad(t));
    return r;
}

}  // namespace

TEST_CASE("sync_batch_norm2d gradcheck over one replica", "[gradcheck]") {
    Tensor x = randn64({3, 2, 3, 2}, 61, 2.0, 1.0);
    Tensor w = randn64({2}, 62, 1.0, 0.5), b = randn64({2}, 63);
    expect_gradcheck(
        [&](const std::vector<Tensor>& in) {
            Tensor rm = zeros({2}, DType::Float64), rv = ones({2}, DType::Float64);
            return sync_batch_norm2d(in[0], in[1], in[2], rm, rv, times(1.0));
        },
        {x, w, b});
}

TEST_CASE("sync_batch_norm2d over one replica or a twin equals batch_norm2d", "[batch_norm]") {
    Tensor x = randn64({4, 3, 5, 3}, 71, 3.0, -2.0);
    Tensor w = randn64({3}, 72, 1.0, 0.5), b = randn64({3}, 73);
    const double n = 4 * 5 * 3;
    for (bool relu : {false, true})
        for (double replicas : {1.0, 2.0}) {
            INFO("relu=" << relu << " replicas=" << replicas);
            Tensor rm = zeros({3}, DType::Float64), rv = ones({3}, DType::Float64);
            Tensor rm_ref = zeros({3}, DType::Float64), rv_ref = ones({3}, DType::Float64);
            const auto got = value_and_grads(
                [&](const std::vector<Tensor>& in) {
                    return sync_batch_norm2d(in[0], in[1], in[2], rm, rv, times(replicas), relu);
                },
                {x, w, b});
            const auto want = value_and_grads(
                [&](const std::vector<Tensor>& in) {
                    return (relu ? batch_norm2d_relu : batch_norm2d)(in[0], in[1], in[2], rm_ref, rv_ref, true,
                                                                     0.1, 1e-5);
                },
                {x, w, b});
            for (size_t i = 0; i < got.size(); ++i) {
                INFO("tensor " << i << " (0: output, then grad x, w, b)");
                CHECK(rel_diff(got[i], want[i]) < 1e-12);
            }
            CHECK(rel_diff(rm, rm_ref) < 1e-12);
            // running_var moves by 0.1 * var * m / (m - 1), m the values over all replicas.
            for (int64_t c = 0; c < 3; ++c) {
                const double var = (rv_ref.data<double>()[c] - 0.9) / 0.1 * (n - 1) / n;
                const double m = replicas * n;
                CHECK(rv.data<double>()[c] == Approx(0.9 + 0.1 * var * m / (m - 1)).epsilon(1e-12));
            }
        }
}

TEST_CASE("sync_batch_norm2d refuses a missing sum and one value over all replicas", "[batch_norm]") {
    Tensor x = randn64({1, 2, 1, 1}, 81);
    Tensor rm = zeros({2}, DType::Float64), rv = ones({2}, DType::Float64);
    CHECK_THROWS_WITH(sync_batch_norm2d(x, Tensor(), Tensor(), rm, rv, nullptr),
                      Catch::Contains("expected a replica sum"));
    CHECK_THROWS_WITH(sync_batch_norm2d(x, Tensor(), Tensor(), rm, rv, times(1.0)),
                      Catch::Contains("more than 1 value per channel over all replicas"));
    CHECK_NOTHROW(sync_batch_norm2d(x, Tensor(), Tensor(), rm, rv, times(2.0)));  // 2 values in all
}
