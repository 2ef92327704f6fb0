// What the fuzz targets share. The library's readers take paths (as users give them), so each
// input is first written to a file in a scratch directory of this process; the target then
// calls the real entry point on it.
//
// A clean refusal is a cardinal::Error (the library's error family): the target catches that
// and nothing else, so any other exception (std::bad_alloc from an allocation sized by the
// file, std::out_of_range, a JSON library exception) escapes, terminates the process and is
// reported by libFuzzer as a crash, like a sanitizer report, a timeout or running out of
// -rss_limit_mb.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "tensor/error.h"

namespace cardinal::fuzz {

// $TMPDIR/cardinal_fuzz_<pid>, created on first use and removed when the process exits.
inline const std::string& scratch_dir() {
    // Never destroyed: the exit handler below runs after the destructors of statics built
    // before it was registered, and must still read the path.
    static const std::string* dir = [] {
        const auto d = std::filesystem::temp_directory_path() /
                       ("cardinal_fuzz_" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        auto* path = new std::string(d.string());
        std::atexit([] {
            std::error_code ec;
            std::filesystem::remove_all(*dir, ec);
        });
        return path;
    }();
    return *dir;
}

// Writes `size` bytes to scratch_dir()/name (replacing it) and returns the path.
inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
    const std::string path = scratch_dir() + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || (size > 0 && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
        std::perror(path.c_str());
        std::abort();  // the harness cannot run: not a finding in the library
    }
    return path;
}

// Runs `body`; a cardinal::Error is the library refusing the input, which is fine.
template <typename F>
void refusal_is_fine(F&& body) {
    try {
        body();
    } catch (const Error&) {
    }
}

}  // namespace cardinal::fuzz
