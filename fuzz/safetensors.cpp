// Fuzz target: load_safetensors on any bytes (header length, JSON header, dtypes, shapes,
// offsets, metadata, data area). A file that loads must hold exactly what its header says:
// every element of every tensor is read, so ASan catches a tensor shorter than its shape.
#include "fuzz/fuzz_input.h"
#include "io/safetensors.h"

using namespace cardinal;

namespace {

// Reads every byte of the tensor's storage through the typed pointer.
uint64_t checksum(const Tensor& t) {
    const auto* bytes = static_cast<const uint8_t*>(t.raw_data());
    uint64_t sum = 0;
    for (size_t i = 0, n = t.numel() * dtype_size(t.dtype()); i < n; ++i) sum += bytes[i];
    return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz::write_input("input.safetensors", data, size);
    fuzz::refusal_is_fine([&] {
        SafetensorsFile f = load_safetensors(path);
        volatile uint64_t sink = 0;
        for (const auto& [name, t] : f.tensors) sink = sink + checksum(t) + name.size();
        // The same file read by name (the path models/weights.h takes for a subset).
        if (!f.tensors.empty()) {
            LoadOptions only;
            only.names = {f.tensors.front().first};
            SafetensorsFile g = load_safetensors(path, only);
            sink = sink + g.tensors.size();
        }
    });
    return 0;
}
