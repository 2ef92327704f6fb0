// Fuzz target: the IDX reader (MNIST / Fashion-MNIST files, plain or gzip) and the image set
// built from an image file and a label file.
//
// Input: a 4-byte little-endian length L, then L bytes of the image file, then the label file
// (fuzz/make_corpus.py writes seeds in this form). L larger than what follows takes it all.
#include <algorithm>
#include <cstring>

#include "data/idx.h"
#include "fuzz/fuzz_input.h"

using namespace cardinal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    uint32_t images_len = 0;
    if (size >= 4) std::memcpy(&images_len, data, 4);  // the targets run on little-endian x86
    const uint8_t* rest = data + std::min<size_t>(size, 4);
    const size_t rest_size = size - std::min<size_t>(size, 4);
    const size_t n = std::min<size_t>(images_len, rest_size);
    const std::string images = fuzz::write_input("images-idx3-ubyte", rest, n);
    const std::string labels = fuzz::write_input("labels-idx1-ubyte", rest + n, rest_size - n);
    fuzz::refusal_is_fine([&] {
        IdxArray a = read_idx(labels);
        int64_t count = 1;
        for (int64_t d : a.dims) count *= d;
        if (static_cast<size_t>(count) != a.data.size()) std::abort();  // the reader's promise
    });
    fuzz::refusal_is_fine([&] {
        ImageDataset ds = load_idx_dataset(images, labels, 10);
        volatile uint64_t sink = 0;
        for (uint8_t p : ds.pixels) sink = sink + p;
    });
    return 0;
}
