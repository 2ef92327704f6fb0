#include "apps/out_dir.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tensor/error.h"

namespace cardinal::apps {

namespace fs = std::filesystem;

OutputPaths output_paths(const std::string& dir) {
    auto in = [&](const char* name) { return (fs::path(dir) / name).string(); };
    return {in("checkpoint.safetensors"), in("model.safetensors"), in("metrics.jsonl"),
            in("curves.svg"), in("options.json")};
}

void prepare_out_dir(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    check<ValueError>(!ec && fs::is_directory(dir), "--out ", dir, ": cannot create the directory",
                      ec ? " (" + ec.message() + ")" : std::string(" (a file is in the way)"));
    std::string probe = (fs::path(dir) / ".cardinal-write-test-XXXXXX").string();
    const int fd = mkstemp(probe.data());
    check<ValueError>(fd >= 0, "--out ", dir, ": directory is not writable (",
                      std::strerror(errno), ")");
    ::close(fd);
    ::unlink(probe.c_str());
}

}  // namespace cardinal::apps
