// Fuzz target: the CIFAR-10 binary batch reader (records of a label byte and 3072 pixels).
#include "data/cifar.h"
#include "fuzz/fuzz_input.h"

using namespace cardinal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz::write_input("data_batch_1.bin", data, size);
    fuzz::refusal_is_fine([&] {
        ImageDataset ds = load_cifar10_files({path});
        volatile uint64_t sink = 0;
        for (uint8_t p : ds.pixels) sink = sink + p;
        const int64_t* labels = ds.labels.data<int64_t>();
        for (int64_t i = 0; i < ds.labels.numel(); ++i)
            if (labels[i] < 0 || labels[i] >= ds.num_classes) std::abort();  // validated labels
    });
    return 0;
}
