// Everything one training run owns, shared by the trainer's parts (apps/trainer.cpp runs the
// loop, apps/train_checkpoint.cpp saves and restores it). Members are declared so that users
// die before what they point to.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
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

// The running totals of one epoch (a mid-epoch checkpoint saves them).
struct EpochTotals {
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    int64_t skipped = 0;  // batches with a NaN/Inf loss skipped by --skip-nonfinite
    double lr = 0;
    double train_seconds = 0;  // of the batches so far (a resumed epoch adds its earlier part)

    nlohmann::json to_json() const {
        return {{"loss_sum", loss_sum}, {"correct", correct}, {"seen", seen}, {"lr", lr},
                {"train_seconds", train_seconds}, {"skipped", skipped}};
    }
};

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
    int64_t start_step = 0;   // batches of epoch start_epoch already done (a mid-epoch checkpoint)
    EpochTotals start_totals; // and their running totals
};

}  // namespace cardinal::apps
