// IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed:
//   bytes 0-1: 0, byte 2: element type (0x08 = uint8), byte 3: number of dims D,
//   then D big-endian uint32 sizes, then the elements row-major.
// Images are 0x00000803 [N, rows, cols], labels 0x00000801 [N].
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace cardinal {

struct IdxArray {
    std::vector<int64_t> dims;
    std::vector<uint8_t> data;
};

// Reads a uint8 IDX file (gzip or plain: zlib reads both). Throws FormatError naming the file
// when it is missing, not IDX, not uint8, has sizes that overflow, or is shorter or longer than
// its header says. Memory grows with the bytes actually read, never with the claimed size.
IdxArray read_idx(const std::string& path);

// An image set from an IDX image file [N, rows, cols] and label file [N] (counts must agree,
// labels must be < num_classes).
ImageDataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                              int64_t num_classes = 10);

// Fashion-MNIST (or MNIST) from `dir`: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
// train: 60000 images, test: 10000, all 1 x 28 x 28, labels 0..9.
ImageDataset load_fashion_mnist(const std::string& dir, bool train);

// Where Debian's dataset-fashion-mnist package installs the files.
inline const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

}  // namespace cardinal
