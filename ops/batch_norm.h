// Batch normalisation over (N, H, W) for each channel of an NCHW tensor.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>

#include "tensor/tensor.h"

namespace cardinal {

// training: normalise with the batch mean and biased variance, then update running_mean and
// running_var in place (running_var with the unbiased variance) with `momentum`.
// eval: normalise with the running statistics. weight/bias [C] may be undefined (no affine).
// Differentiable in x, weight and bias.
Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                    const Tensor& running_mean, const Tensor& running_var, bool training,
                    double momentum = 0.1, double eps = 1e-5);

// relu(batch_norm2d(...)) as one op: the ReLU runs inside the normalising sweep, and the backward
// masks the gradient inside BatchNorm's own two sweeps (no separate ReLU pass or node). It saves
// its output for the mask, which the next layer usually saves anyway (same storage).
Tensor batch_norm2d_relu(const Tensor& x, const Tensor& weight, const Tensor& bias,
                         const Tensor& running_mean, const Tensor& running_var, bool training,
                         double momentum = 0.1, double eps = 1e-5);

// Sums `n` doubles in place over every replica of a data-parallel run. Every replica makes the
// same calls in the same order (dist/sync_batch_norm.h makes one over MPI).
using ReplicaSum = std::function<void(double* values, int64_t n)>;

// batch_norm2d (or batch_norm2d_relu) in training mode with the statistics of all replicas'
// batches together, as if they were one batch: mean and biased variance over every replica's
// N*H*W values per channel (the replicas' shards may differ in size), and the backward through
// them. Two sums in forward, one in backward. The running statistics move by the global ones,
// so they stay equal on every replica.
//
// The backward assumes the data-parallel convention of dist/grad_sync.h: each replica's loss is
// the mean over its own shard and the replicas' gradients are combined with weights n_r / n
// (n_r the replica's values per channel, n all of them). Then the combined gradients equal
// those of one process running the whole batch.
Tensor sync_batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                         const Tensor& running_mean, const Tensor& running_var,
                         std::shared_ptr<const ReplicaSum> sum, bool relu = false,
                         double momentum = 0.1, double eps = 1e-5);

}  // namespace cardinal
