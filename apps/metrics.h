// One epoch's figures, as written to metrics.jsonl (one JSON object per line).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cardinal::apps {

struct EpochMetrics {
    int64_t epoch = 0;  // 1-based
    double train_loss = 0, train_acc = 0;  // running mean over the epoch (loss with smoothing)
    double test_loss = 0, test_acc = 0;    // plain cross-entropy; accuracy as a fraction
    double lr = 0;                         // learning rate of the epoch's last step
    double seconds = 0;                    // training + evaluation wall time of this epoch
    double cum_seconds = 0;                // since the run began (across resumes)
    double images_per_s = 0;               // training images per second of training time
    double train_seconds = 0, eval_seconds = 0;
    int64_t skipped_nonfinite = 0;  // batches skipped by --skip-nonfinite (NaN/Inf loss)

    nlohmann::json to_json() const;
    static EpochMetrics from_json(const nlohmann::json& j);
};

// The history as metrics.jsonl text (one line per epoch).
std::string metrics_jsonl(const std::vector<EpochMetrics>& history);

// Writes `text` to `path` atomically: a temporary file in the same directory, flushed and
// fsync'ed, then renamed over `path`. FormatError naming the path on any failure.
void write_text_atomic(const std::string& path, const std::string& text);

}  // namespace cardinal::apps
