// Training progress for one epoch: on a terminal a bar redrawn in place with '\r'
//   epoch 2/6 [=========>          ] 230/468  loss 0.6123  acc 78.4%  612 img/s  ETA 0:39
// elsewhere (a log file, a pipe) a plain line about every 10% of the epoch.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>

namespace cardinal::apps {

enum class ProgressMode { None, Bar, Log };

// Bar when `out` is a terminal, else Log; "bar" / "log" / "none" force a mode.
ProgressMode progress_mode(const char* choice, FILE* out);

class EpochProgress {
  public:
    EpochProgress(FILE* out, ProgressMode mode, int64_t epoch, int64_t epochs,
                  int64_t num_batches);
    // After batch `done` (1-based) of the epoch: running mean loss, accuracy, images so far.
    // Cheap when nothing is printed (a clock read).
    void update(int64_t done, double loss, double acc, int64_t images);
    // Ends the bar's line (the caller then prints the epoch summary).
    void finish();

  private:
    void draw(int64_t done, double loss, double acc, int64_t images, double elapsed);
    FILE* out_;
    ProgressMode mode_;
    int64_t epoch_, epochs_, num_batches_;
    int64_t next_log_ = 1;  // next tenth to log
    std::chrono::steady_clock::time_point start_, last_draw_;
    bool drawn_ = false;
};

}  // namespace cardinal::apps
