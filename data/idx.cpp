#include "data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <memory>

namespace cardinal {
namespace {

struct GzCloser {
    void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// Reads up to n bytes; returns how many came. A decompression error is a FormatError.
size_t read_some(gzFile f, uint8_t* dst, size_t n, const std::string& path) {
    size_t got = 0;
    while (got < n) {
        unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 20));
        int r = gzread(f, dst + got, chunk);
        if (r < 0) {
            int code = 0;
            const char* msg = gzerror(f, &code);
            fail<FormatError>(path, ": corrupt compressed data (", msg ? msg : "zlib error", ")");
        }
        if (r == 0) break;
        got += static_cast<size_t>(r);
    }
    return got;
}

}  // namespace

IdxArray read_idx(const std::string& path) {
    check<FormatError>(std::filesystem::is_regular_file(path), path, ": no such file");
    GzFile file(gzopen(path.c_str(), "rb"));
    check<FormatError>(file != nullptr, path, ": cannot open");
    gzFile f = file.get();

    uint8_t magic[4];
    check<FormatError>(read_some(f, magic, 4, path) == 4, path,
                       ": truncated IDX header (fewer than 4 bytes)");
    check<FormatError>(magic[0] == 0 && magic[1] == 0, path,
                       ": not an IDX file (magic must start with two zero bytes, got 0x", std::hex,
                       static_cast<int>(magic[0]), " 0x", static_cast<int>(magic[1]), ")");
    check<FormatError>(magic[2] == 0x08, path, ": IDX element type 0x", std::hex,
                       static_cast<int>(magic[2]), " is not supported (expected 0x08, uint8)");
    const int ndims = magic[3];
    check<FormatError>(ndims >= 1 && ndims <= 4, path, ": IDX header claims ", ndims,
                       " dimensions (expected 1 to 4)");

    IdxArray out;
    uint8_t size_bytes[16];
    check<FormatError>(read_some(f, size_bytes, 4 * ndims, path) == size_t(4 * ndims), path,
                       ": truncated IDX header (", ndims, " dimension sizes expected)");
    int64_t total = 1;
    for (int d = 0; d < ndims; ++d) {
        const uint8_t* b = size_bytes + 4 * d;
        int64_t size = (int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) | (int64_t(b[2]) << 8) | b[3];
        out.dims.push_back(size);
        check<FormatError>(size == 0 || total <= (int64_t(1) << 40) / size, path, ": IDX sizes ",
                           shape_str(out.dims), " are implausibly large");
        total *= size;
    }

    // Grow with the data that actually arrives, so a lying header cannot make us allocate.
    size_t have = 0;
    const size_t want = static_cast<size_t>(total);
    while (have < want) {
        size_t chunk = std::min<size_t>(want - have, 8u << 20);
        out.data.resize(have + chunk);
        size_t got = read_some(f, out.data.data() + have, chunk, path);
        have += got;
        check<FormatError>(got == chunk, path, ": truncated: header ", shape_str(out.dims),
                           " needs ", want, " data bytes, the file holds ", have);
    }
    uint8_t extra;
    check<FormatError>(read_some(f, &extra, 1, path) == 0, path, ": longer than its header ",
                       shape_str(out.dims), " says (", want, " data bytes)");
    return out;
}

ImageDataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                              int64_t num_classes) {
    IdxArray images = read_idx(images_path);
    check<FormatError>(images.dims.size() == 3, images_path,
                       ": expected an IDX image file [N, rows, cols], got dims ",
                       shape_str(images.dims));
    IdxArray labels = read_idx(labels_path);
    check<FormatError>(labels.dims.size() == 1, labels_path,
                       ": expected an IDX label file [N], got dims ", shape_str(labels.dims));
    check<FormatError>(images.dims[0] == labels.dims[0], images_path, " holds ", images.dims[0],
                       " images but ", labels_path, " holds ", labels.dims[0], " labels");
    ImageDataset ds;
    ds.channels = 1;
    ds.height = images.dims[1];
    ds.width = images.dims[2];
    ds.num_classes = num_classes;
    ds.pixels = std::move(images.data);
    ds.labels = empty({labels.dims[0]}, DType::Int64);
    int64_t* dst = ds.labels.data<int64_t>();
    for (int64_t i = 0; i < labels.dims[0]; ++i) {
        check<FormatError>(labels.data[i] < num_classes, labels_path, ": label ", i, " is ",
                           int(labels.data[i]), ", expected 0..", num_classes - 1);
        dst[i] = labels.data[i];
    }
    return ds;
}

ImageDataset load_fashion_mnist(const std::string& dir, bool train) {
    const std::string prefix = dir + "/" + (train ? "train" : "t10k");
    auto pick = [&](const std::string& stem) {
        for (const std::string& p : {prefix + stem + ".gz", prefix + stem})
            if (std::filesystem::is_regular_file(p)) return p;
        fail<FormatError>("load_fashion_mnist: neither ", prefix + stem, ".gz nor ", prefix + stem,
                          " exists");
    };
    return load_idx_dataset(pick("-images-idx3-ubyte"), pick("-labels-idx1-ubyte"), 10);
}

}  // namespace cardinal
