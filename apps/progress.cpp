#include "apps/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace cardinal::apps {
namespace {

std::string clock_text(double seconds) {
    const int64_t s = static_cast<int64_t>(seconds + 0.5);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", long(s / 3600), long(s / 60 % 60),
                      long(s % 60));
    else
        std::snprintf(buf, sizeof buf, "%ld:%02ld", long(s / 60), long(s % 60));
    return buf;
}

}  // namespace

ProgressMode progress_mode(const char* choice, FILE* out) {
    if (!out || std::strcmp(choice, "none") == 0) return ProgressMode::None;
    if (std::strcmp(choice, "bar") == 0) return ProgressMode::Bar;
    if (std::strcmp(choice, "log") == 0) return ProgressMode::Log;
    return isatty(fileno(out)) ? ProgressMode::Bar : ProgressMode::Log;
}

EpochProgress::EpochProgress(FILE* out, ProgressMode mode, int64_t epoch, int64_t epochs,
                             int64_t num_batches)
    : out_(out), mode_(mode), epoch_(epoch), epochs_(epochs), num_batches_(num_batches),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

void EpochProgress::update(int64_t done, double loss, double acc, int64_t images) {
    if (mode_ == ProgressMode::None) return;
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    if (mode_ == ProgressMode::Bar) {
        // Redraw at most 10 times a second, and always for the last batch.
        if (done < num_batches_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
        last_draw_ = now;
        draw(done, loss, acc, images, elapsed);
        return;
    }
    if (done * 10 < next_log_ * num_batches_) return;
    while (next_log_ * num_batches_ <= done * 10) ++next_log_;
    draw(done, loss, acc, images, elapsed);
}

void EpochProgress::draw(int64_t done, double loss, double acc, int64_t images, double elapsed) {
    const double rate = elapsed > 0 ? images / elapsed : 0;
    const double eta = done > 0 ? elapsed / done * (num_batches_ - done) : 0;
    char stats[160];
    std::snprintf(stats, sizeof stats, "%ld/%ld  loss %.4f  acc %5.1f%%  %.0f img/s  %s %s",
                  long(done), long(num_batches_), loss, acc * 100, rate,
                  done < num_batches_ ? "ETA" : "in", clock_text(done < num_batches_ ? eta : elapsed).c_str());
    if (mode_ == ProgressMode::Bar) {
        constexpr int kWidth = 24;
        const int filled = static_cast<int>(kWidth * done / std::max<int64_t>(num_batches_, 1));
        std::string bar(kWidth, ' ');
        std::fill(bar.begin(), bar.begin() + filled, '=');
        if (filled < kWidth && filled > 0) bar[filled - 1] = '>';
        // \033[K clears what a longer previous line left behind.
        std::fprintf(out_, "\repoch %ld/%ld [%s] %s\033[K", long(epoch_), long(epochs_),
                     bar.c_str(), stats);
        drawn_ = true;
    } else {
        std::fprintf(out_, "epoch %ld/%ld  batch %s\n", long(epoch_), long(epochs_), stats);
    }
    std::fflush(out_);
}

void EpochProgress::finish() {
    if (mode_ == ProgressMode::Bar && drawn_) {
        std::fputc('\n', out_);
        std::fflush(out_);
    }
}

}  // namespace cardinal::apps
