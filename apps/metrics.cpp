#include "apps/metrics.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tensor/error.h"

namespace cardinal::apps {

nlohmann::json EpochMetrics::to_json() const {
    return {{"epoch", epoch},
            {"train_loss", train_loss},
            {"train_acc", train_acc},
            {"test_loss", test_loss},
            {"test_acc", test_acc},
            {"lr", lr},
            {"seconds", seconds},
            {"cum_seconds", cum_seconds},
            {"images_per_s", images_per_s},
            {"train_seconds", train_seconds},
            {"eval_seconds", eval_seconds},
            {"skipped_nonfinite", skipped_nonfinite}};
}

EpochMetrics EpochMetrics::from_json(const nlohmann::json& j) {
    EpochMetrics m;
    try {
        m.epoch = j.at("epoch").get<int64_t>();
        m.train_loss = j.at("train_loss").get<double>();
        m.train_acc = j.at("train_acc").get<double>();
        m.test_loss = j.at("test_loss").get<double>();
        m.test_acc = j.at("test_acc").get<double>();
        m.lr = j.at("lr").get<double>();
        m.seconds = j.at("seconds").get<double>();
        m.cum_seconds = j.at("cum_seconds").get<double>();
        m.images_per_s = j.at("images_per_s").get<double>();
        m.train_seconds = j.value("train_seconds", 0.0);
        m.skipped_nonfinite = j.value("skipped_nonfinite", int64_t{0});
        m.eval_seconds = j.value("eval_seconds", 0.0);
    } catch (const nlohmann::json::exception& e) {
        fail<FormatError>("metrics: bad epoch record ", j.dump(), " (", e.what(), ")");
    }
    return m;
}

std::string metrics_jsonl(const std::vector<EpochMetrics>& history) {
    std::string text;
    for (const EpochMetrics& m : history) text += m.to_json().dump() + "\n";
    return text;
}

void write_text_atomic(const std::string& path, const std::string& text) {
    std::string tmp = path + ".tmpXXXXXX";
    int fd = mkstemp(tmp.data());
    check<FormatError>(fd >= 0, path, ": cannot create a temporary file next to it (",
                       std::strerror(errno), ")");
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<size_t>(n);
    }
    const bool ok = done == text.size() && ::fsync(fd) == 0;
    const int saved = errno;
    ::close(fd);
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = ok ? errno : saved;
        std::remove(tmp.c_str());
        fail<FormatError>(path, ": write failed (", std::strerror(err), ")");
    }
    // mkstemp makes the file 0600; give it the usual permissions.
    ::chmod(path.c_str(), 0644);
}

}  // namespace cardinal::apps
