#include "apps/evaluate.h"

#include "autograd/grad_mode.h"
#include "ops/loss.h"
#include "tensor/error.h"

namespace cardinal::apps {

int64_t count_correct(const Tensor& logits, const Tensor& labels) {
    const Tensor l = logits.to(DType::Float32).contiguous();
    const float* p = l.data<float>();
    const int64_t* y = labels.data<int64_t>();
    const int64_t n = l.size(0), c = l.size(1);
    int64_t correct = 0;
    for (int64_t i = 0; i < n; ++i) {
        const float* row = p + i * c;
        int64_t best = 0;
        for (int64_t k = 1; k < c; ++k)
            if (row[k] > row[best]) best = k;
        correct += best == y[i];
    }
    return correct;
}

LoaderOptions eval_loader_options(int64_t batch, int64_t limit, const std::vector<double>& mean,
                                  const std::vector<double>& stdev) {
    LoaderOptions lo;
    lo.batch_size = batch;
    lo.shuffle = false;
    lo.drop_last = false;
    lo.limit = limit;
    lo.prefetch = true;
    lo.transforms.mean = mean;
    lo.transforms.std = stdev;
    return lo;
}

EvalResult evaluate(Module& model, DataLoader& loader, int64_t num_classes) {
    NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    EvalResult r;
    r.num_classes = num_classes;
    r.confusion.assign(static_cast<size_t>(num_classes * num_classes), 0);
    double loss_sum = 0;
    int64_t correct = 0;
    loader.start_epoch(0);
    Batch batch;
    while (loader.next(batch)) {
        if (batch.labels.numel() == 0) continue;  // a rank's empty shard of a small last batch
        Tensor logits = model.forward(batch.images);
        check<ShapeError>(logits.dim() == 2 && logits.size(1) == num_classes,
                          "evaluate: the model gives ", describe(logits), " for ",
                          num_classes, " classes");
        loss_sum += cross_entropy(logits, batch.labels, Reduction::Sum).item();
        const Tensor l = logits.to(DType::Float32).contiguous();
        const float* p = l.data<float>();
        const int64_t* y = batch.labels.data<int64_t>();
        for (int64_t i = 0; i < l.size(0); ++i) {
            const float* row = p + i * num_classes;
            int64_t best = 0;
            for (int64_t k = 1; k < num_classes; ++k)
                if (row[k] > row[best]) best = k;
            ++r.confusion[static_cast<size_t>(y[i] * num_classes + best)];
            correct += best == y[i];
        }
        r.count += l.size(0);
    }
    model.train(was_training);
    r.loss = r.count ? loss_sum / static_cast<double>(r.count) : 0;
    r.accuracy = r.count ? static_cast<double>(correct) / static_cast<double>(r.count) : 0;
    return r;
}

}  // namespace cardinal::apps
