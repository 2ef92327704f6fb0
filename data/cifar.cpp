#include "data/cifar.h"

#include <filesystem>
#include <fstream>

namespace cardinal {

ImageDataset load_cifar10_files(const std::vector<std::string>& paths) {
    check<ValueError>(!paths.empty(), "load_cifar10_files: no files given");
    std::vector<uint64_t> sizes;
    uint64_t records = 0;
    for (const std::string& path : paths) {
        std::error_code ec;
        check<FormatError>(std::filesystem::is_regular_file(path, ec), path, ": no such file");
        uint64_t bytes = std::filesystem::file_size(path, ec);
        check<FormatError>(!ec, path, ": cannot read its size");
        check<FormatError>(bytes > 0 && bytes % kCifarRecordBytes == 0, path, ": ", bytes,
                           " bytes is not a whole number of ", kCifarRecordBytes,
                           "-byte CIFAR-10 records");
        sizes.push_back(bytes);
        records += bytes / kCifarRecordBytes;
    }
    ImageDataset ds;
    ds.channels = 3;
    ds.height = 32;
    ds.width = 32;
    ds.num_classes = 10;
    const int64_t image_bytes = kCifarRecordBytes - 1;
    ds.pixels.resize(records * image_bytes);
    ds.labels = empty({static_cast<int64_t>(records)}, DType::Int64);
    int64_t* labels = ds.labels.data<int64_t>();
    int64_t n = 0;
    std::vector<char> record(kCifarRecordBytes);
    for (size_t f = 0; f < paths.size(); ++f) {
        std::ifstream in(paths[f], std::ios::binary);
        check<FormatError>(in.good(), paths[f], ": cannot open");
        for (uint64_t r = 0; r < sizes[f] / kCifarRecordBytes; ++r, ++n) {
            in.read(record.data(), kCifarRecordBytes);
            check<FormatError>(in.gcount() == kCifarRecordBytes, paths[f],
                               ": short read at record ", r);
            const uint8_t label = static_cast<uint8_t>(record[0]);
            check<FormatError>(label < 10, paths[f], ": record ", r, " has label ", int(label),
                               ", expected 0..9");
            labels[n] = label;
            std::copy(record.begin() + 1, record.end(),
                      reinterpret_cast<char*>(ds.pixels.data()) + n * image_bytes);
        }
    }
    return ds;
}

ImageDataset load_cifar10(const std::string& dir, bool train) {
    std::string base = dir;
    if (!std::filesystem::exists(base + (train ? "/data_batch_1.bin" : "/test_batch.bin")) &&
        std::filesystem::is_directory(dir + "/cifar-10-batches-bin"))
        base = dir + "/cifar-10-batches-bin";
    std::vector<std::string> paths;
    if (train) {
        for (int i = 1; i <= 5; ++i)
            paths.push_back(base + "/data_batch_" + std::to_string(i) + ".bin");
    } else {
        paths.push_back(base + "/test_batch.bin");
    }
    return load_cifar10_files(paths);
}

}  // namespace cardinal
