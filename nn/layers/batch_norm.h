// BatchNorm2d over NCHW: per channel c,
//   train: y = (x - mean_b) / sqrt(var_b + eps) * weight + bias with batch statistics over
//          (N, H, W); running_mean/var move by `momentum` (running_var uses the unbiased
//          variance) and num_batches_tracked (0-d int64) counts the training forwards.
//   eval:  the same with running_mean / running_var.
// With a replica sum set (set_replica_sum; dist/sync_batch_norm.h sets one on every BatchNorm of
// a model for --sync-bn), training uses the statistics of all replicas' batches together
// (ops/batch_norm.h sync_batch_norm2d); eval is unchanged.
// State order (PyTorch's): weight, bias, running_mean, running_var, num_batches_tracked.
#pragma once
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "nn/module.h"
#include "ops/batch_norm.h"
#include "ops/conv.h"

namespace cardinal {

class Conv2d;

class BatchNorm2d : public Module {
public:
    explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1);

    Tensor forward(const Tensor& x) override;
    // relu(forward(x)) as one fused op (ops/batch_norm.h batch_norm2d_relu): the same values
    // and gradients with one pass less each way.
    Tensor forward_relu(const Tensor& x);
    std::string type_name() const override { return "BatchNorm2d"; }
    std::string extra_repr() const override;

    int64_t num_features() const { return num_features_; }
    double eps() const { return eps_; }
    double momentum() const { return momentum_; }
    const Tensor& weight() const { return weight_; }
    const Tensor& bias() const { return bias_; }
    const Tensor& running_mean() const { return running_mean_; }
    const Tensor& running_var() const { return running_var_; }
    const Tensor& num_batches_tracked() const { return num_batches_tracked_; }
    // Synchronise the training statistics over the replicas `sum` spans (null: this batch only).
    void set_replica_sum(std::shared_ptr<const ReplicaSum> sum) { replica_sum_ = std::move(sum); }
    const std::shared_ptr<const ReplicaSum>& replica_sum() const { return replica_sum_; }
    // weight 1, bias 0, running_mean 0, running_var 1, num_batches_tracked 0.
    void reset_parameters();
    // {w', b'}: `conv` (which feeds this BatchNorm) with this BatchNorm's eval-mode affine map
    // folded in (nn/layers/conv_bn_fold.h); cached until a tensor of either changes. For the
    // attention gates' small fcs, which multiply by w' directly.
    std::pair<Tensor, Tensor> folded_into(const Conv2d& conv);
    // {w' as a DerivedWeight (ops/conv.h), b'}: for a convolution, which keeps w' only in its
    // own layout, so this BatchNorm keeps b' and the key whose version names w'.
    std::pair<DerivedWeight, Tensor> folded_lazily_into(const Conv2d& conv);

private:
    Tensor run(const Tensor& x, bool relu);
    int64_t num_features_;
    double eps_, momentum_;
    Tensor weight_, bias_, running_mean_, running_var_, num_batches_tracked_;
    std::shared_ptr<const ReplicaSum> replica_sum_;
    // Brings folded_b_ (and folded_w_ when keep_weight) up to date with the six tensors.
    void refold(const Conv2d& conv, bool keep_weight);
    std::mutex fold_mutex_;
    std::vector<uint64_t> fold_key_;  // ids and versions of the six tensors folded
    Tensor folded_w_, folded_b_;
    Tensor fold_version_;  // one element; its version is bumped at every refold (the lazy key)
};

}  // namespace cardinal
