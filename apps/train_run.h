// Everything one training run owns, shared by the trainer's parts (apps/trainer.cpp runs the
// loop, apps/train_checkpoint.cpp saves and restores it). Members are declared so that users
// die before what they point to.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "apps/data_source.h"
#include "apps/metrics.h"
#include "apps/train_options.h"
#include "data/loader.h"
#include "models/resnet.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "tensor/random.h"

namespace cardinal::apps {

struct Run {
    ModelChoice choice;
    DataSpec data;
    std::unique_ptr<Generator> gen;  // the model keeps a pointer to it
    std::shared_ptr<ResNet> model;
    std::unique_ptr<Optimizer> optimizer;
    std::unique_ptr<LRScheduler> scheduler;  // refers to *optimizer
    std::unique_ptr<DataLoader> train_loader, test_loader;
    std::vector<EpochMetrics> history;
    int64_t start_epoch = 0;  // epochs already done
};

}  // namespace cardinal::apps
