// Evaluation of a classifier over a data set: what `cardinal eval` prints and what the trainer
// records after every epoch.
#pragma once
#include <cstdint>
#include <vector>

#include "data/loader.h"
#include "nn/module.h"

namespace cardinal::apps {

// Accuracy, mean (unsmoothed) cross-entropy and the confusion matrix of `model` in eval mode
// over every batch of `loader` (its epoch 0, unshuffled).
struct EvalResult {
    double loss = 0, accuracy = 0;
    int64_t count = 0, num_classes = 0;
    std::vector<int64_t> confusion;  // [true class * num_classes + predicted class]
};
EvalResult evaluate(Module& model, DataLoader& loader, int64_t num_classes);

// The eval loader the trainer uses: no augmentation, no shuffle, the data set's normalization.
LoaderOptions eval_loader_options(int64_t batch, int64_t limit, const std::vector<double>& mean,
                                  const std::vector<double>& std);

// Number of arg-max hits of logits [N, C] against labels [N].
int64_t count_correct(const Tensor& logits, const Tensor& labels);

}  // namespace cardinal::apps
