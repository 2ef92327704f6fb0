// The data sets `cardinal train` and `cardinal eval` read, named on the command line as
//   fashion-mnist[:DIR]  (DIR defaults to where Debian's dataset-fashion-mnist installs it)
//   mnist:DIR            (the same IDX layout)
//   cifar10:DIR          (the binary version: data_batch_1..5.bin, test_batch.bin)
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace cardinal::apps {

struct DataSpec {
    std::string kind;  // "fashion-mnist", "mnist", "cifar10"
    std::string dir;
    std::vector<std::string> class_names;
    std::vector<double> mean, std;  // the normalization the set is trained with by default
    int64_t channels = 1, size = 28;
};

// Parses "KIND[:DIR]"; ValueError naming the accepted forms when it is not one of them.
DataSpec parse_data_spec(const std::string& text);

// The training or test split; a missing directory or file is a ValueError that says where it
// looked and how to get the data (for Fashion-MNIST: the dataset-fashion-mnist package).
std::shared_ptr<const ImageDataset> load_split(const DataSpec& spec, bool train);

}  // namespace cardinal::apps
