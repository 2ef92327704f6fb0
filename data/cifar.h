// CIFAR-10 binary batches: each record is 1 label byte (0..9) then 3072 pixel bytes, the
// 32x32 red plane, then green, then blue (so records are already C x H x W).
//   train: data_batch_1.bin .. data_batch_5.bin (10000 records each), test: test_batch.bin
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"

namespace cardinal {

constexpr int64_t kCifarRecordBytes = 1 + 3 * 32 * 32;

// Reads the batch files in order into one set (3 x 32 x 32, 10 classes). Throws FormatError
// naming the file when it is missing, empty, not a whole number of records, or has a label > 9.
ImageDataset load_cifar10_files(const std::vector<std::string>& paths);

// From `dir` or `dir`/cifar-10-batches-bin (the layout of the official archive).
ImageDataset load_cifar10(const std::string& dir, bool train);

}  // namespace cardinal
