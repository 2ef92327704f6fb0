#include "nn/layers/batch_norm.h"

#include "autograd/grad_mode.h"
#include "nn/layers/repr.h"
#include "ops/batch_norm.h"

namespace cardinal {

BatchNorm2d::BatchNorm2d(int64_t num_features, double eps, double momentum)
    : num_features_(num_features), eps_(eps), momentum_(momentum) {
    check<ValueError>(num_features > 0, "BatchNorm2d: num_features must be positive, got ", num_features);
    check<ValueError>(eps > 0, "BatchNorm2d: eps must be positive, got ", eps);
    check<ValueError>(momentum >= 0 && momentum <= 1, "BatchNorm2d: momentum must be in [0, 1], got ",
                      momentum);
    weight_ = register_parameter("weight", empty({num_features}));
    bias_ = register_parameter("bias", empty({num_features}));
    running_mean_ = register_buffer("running_mean", empty({num_features}));
    running_var_ = register_buffer("running_var", empty({num_features}));
    num_batches_tracked_ = register_buffer("num_batches_tracked", zeros({}, DType::Int64));
    reset_parameters();
}

void BatchNorm2d::reset_parameters() {
    NoGradGuard guard;
    weight_.fill_(1.0);
    bias_.fill_(0.0);
    running_mean_.fill_(0.0);
    running_var_.fill_(1.0);
    num_batches_tracked_.fill_(0.0);
}

Tensor BatchNorm2d::forward(const Tensor& x) { return run(x, false); }

Tensor BatchNorm2d::forward_relu(const Tensor& x) { return run(x, true); }

Tensor BatchNorm2d::run(const Tensor& x, bool relu) {
    check<ShapeError>(x.dim() == 4 && x.size(1) == num_features_, "BatchNorm2d(", num_features_,
                      "): expected input [N, ", num_features_, ", H, W], got ", describe(x));
    Tensor y;
    if (is_training() && replica_sum_) {
        y = sync_batch_norm2d(x, weight_, bias_, running_mean_, running_var_, replica_sum_, relu, momentum_, eps_);
    } else {
        const auto op = relu ? batch_norm2d_relu : batch_norm2d;
        y = op(x, weight_, bias_, running_mean_, running_var_, is_training(), momentum_, eps_);
    }
    if (is_training()) {
        num_batches_tracked_.fill_(num_batches_tracked_.item() + 1.0);
        // The statistics just moved: the convolution's copy of the folded weight is stale.
        std::lock_guard<std::mutex> lock(fold_mutex_);
        if (fold_version_.defined()) release_inference_copies(fold_version_);
    }
    return y;
}

std::string BatchNorm2d::extra_repr() const {
    return std::to_string(num_features_) + ", eps=" + float_repr(eps_) + ", momentum=" +
           float_repr(momentum_) + ", affine=True, track_running_stats=True";
}

}  // namespace cardinal
