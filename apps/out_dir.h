// The output directory of a training run: made up front and proven writable, so a bad --out
// fails before any data is read, not after the first epoch.
#pragma once
#include <string>

namespace cardinal::apps {

// The files a run writes into its --out directory.
struct OutputPaths {
    std::string checkpoint, model, metrics, curves, options;
};
OutputPaths output_paths(const std::string& dir);

// Makes `dir` (and parents) and proves a file can be created in it; ValueError naming --out.
void prepare_out_dir(const std::string& dir);

}  // namespace cardinal::apps
