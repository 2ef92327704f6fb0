// What the trainer optimises and how: the parameter groups (weight decay on conv and fc weights
// only), the optimizer --optimizer names and the learning-rate schedule --schedule names.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "apps/train_options.h"
#include "nn/module.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"

namespace cardinal::apps {

// Two groups: parameters with ndim > 1 (conv and fc weights) take --wd, the rest (BatchNorm,
// biases) none; an empty group is left out.
std::vector<ParamGroup> decay_param_groups(const Module& model);

// SGD or AdamW over decay_param_groups(model) with the options' hyper-parameters.
std::unique_ptr<Optimizer> make_optimizer(const Module& model, const TrainOptions& o);

// The options' schedule over o.epochs * steps_per_epoch optimizer steps.
std::unique_ptr<LRScheduler> make_scheduler(Optimizer& optimizer, const TrainOptions& o,
                                            int64_t steps_per_epoch);

}  // namespace cardinal::apps
