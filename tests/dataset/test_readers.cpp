// IDX and CIFAR-10 readers on files written here (plain and gzip), corrupt and truncated
// files, and the real Fashion-MNIST when Debian's dataset-fashion-mnist is installed.
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "data/cifar.h"
#include "data/idx.h"

using namespace cardinal;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<uint8_t>;

std::string temp_path(const std::string& name) {
    fs::path dir = fs::temp_directory_path() / ("cardinal_data_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return (dir / name).string();
}

void write_file(const std::string& path, const Bytes& bytes, bool gzip) {
    if (gzip) {
        gzFile f = gzopen(path.c_str(), "wb");
        REQUIRE(f != nullptr);
        REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == int(bytes.size()));
        REQUIRE(gzclose(f) == Z_OK);
    } else {
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
}

// An IDX uint8 file: magic 0x0000 08 D, big-endian sizes, then data.
Bytes idx_bytes(const std::vector<uint32_t>& dims, const Bytes& data) {
    Bytes b = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
    for (uint32_t d : dims) {
        b.push_back(d >> 24);
        b.push_back((d >> 16) & 0xff);
        b.push_back((d >> 8) & 0xff);
        b.push_back(d & 0xff);
    }
    b.insert(b.end(), data.begin(), data.end());
    return b;
}

Bytes ramp(size_t n, int mul = 7) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>((i * mul) % 256);
    return b;
}

}  // namespace

TEST_CASE("IDX round trip, plain and gzip", "[data]") {
    const Bytes pixels = ramp(3 * 4 * 5);
    const Bytes labels = {3, 0, 9};
    for (bool gzip : {false, true}) {
        INFO("gzip " << gzip);
        std::string img = temp_path(gzip ? "img.gz" : "img"),
                    lab = temp_path(gzip ? "lab.gz" : "lab");
        write_file(img, idx_bytes({3, 4, 5}, pixels), gzip);
        write_file(lab, idx_bytes({3}, labels), gzip);
        IdxArray a = read_idx(img);
        CHECK(a.dims == std::vector<int64_t>{3, 4, 5});
        CHECK(a.data == pixels);
        ImageDataset ds = load_idx_dataset(img, lab);
        CHECK(ds.size() == 3);
        CHECK(ds.channels == 1);
        CHECK(ds.height == 4);
        CHECK(ds.width == 5);
        CHECK(ds.label(0) == 3);
        CHECK(ds.label(2) == 9);
        CHECK(ds.labels.dtype() == DType::Int64);
        Tensor t = ds.images_tensor();
        CHECK(t.shape() == Shape{3, 1, 4, 5});
        CHECK(t.at({1, 0, 2, 3}) == pixels[20 + 2 * 5 + 3]);
    }
}

TEST_CASE("IDX: corrupt and truncated files are FormatErrors", "[data]") {
    const Bytes good = idx_bytes({2, 3, 3}, ramp(18));
    auto refused = [](const Bytes& bytes, bool gzip, const std::string& what) {
        std::string path = temp_path("bad");
        write_file(path, bytes, gzip);
        CHECK_THROWS_WITH(read_idx(path), Catch::Contains(what));
        CHECK_THROWS_AS(read_idx(path), FormatError);
    };
    for (bool gzip : {false, true}) {
        INFO("gzip " << gzip);
        refused(Bytes(good.begin(), good.end() - 1), gzip, "truncated");
        refused(Bytes(good.begin(), good.begin() + 2), gzip, "truncated IDX header");
        refused(Bytes(good.begin(), good.begin() + 8), gzip, "truncated IDX header");
        Bytes longer = good;
        longer.push_back(1);
        refused(longer, gzip, "longer than its header");
        Bytes magic = good;
        magic[0] = 0x1f;
        refused(magic, gzip, "not an IDX file");
        Bytes type = good;
        type[2] = 0x0d;  // float
        refused(type, gzip, "not supported");
        refused(idx_bytes({0xffffffffu, 0xffffffffu, 0xffffffffu}, {}), gzip, "implausibly large");
        refused(idx_bytes({1000000, 28, 28}, ramp(100)), gzip, "truncated");
    }
    // A gzip stream cut in the middle.
    std::string gz = temp_path("full.gz");
    write_file(gz, idx_bytes({64, 64}, ramp(4096, 13)), true);
    std::ifstream in(gz, std::ios::binary);
    Bytes compressed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    refused(Bytes(compressed.begin(), compressed.begin() + compressed.size() / 2), false,
            "truncated");
    CHECK_THROWS_AS(read_idx(temp_path("does_not_exist")), FormatError);
}

TEST_CASE("IDX datasets: count mismatch and bad labels are refused", "[data]") {
    std::string img = temp_path("img3"), lab = temp_path("lab2"), bad = temp_path("lab_bad");
    write_file(img, idx_bytes({3, 2, 2}, ramp(12)), false);
    write_file(lab, idx_bytes({2}, {1, 2}), false);
    write_file(bad, idx_bytes({3}, {1, 2, 10}), false);
    CHECK_THROWS_WITH(load_idx_dataset(img, lab),
                      Catch::Contains("3 images") && Catch::Contains("2 labels"));
    CHECK_THROWS_WITH(load_idx_dataset(img, bad), Catch::Contains("label 2 is 10"));
    CHECK_THROWS_AS(load_idx_dataset(lab, lab), FormatError);  // labels are not images
    CHECK_THROWS_AS(load_fashion_mnist(temp_path("empty_dir"), true), FormatError);
}

TEST_CASE("Fashion-MNIST loads from the Debian package", "[data]") {
    if (!fs::exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz")) {
        WARN("skipped: " << kFashionMnistDir
                         << " is missing (apt-get install dataset-fashion-mnist)");
        return;
    }
    ImageDataset train = load_fashion_mnist(kFashionMnistDir, true);
    CHECK(train.size() == 60000);
    CHECK(train.channels == 1);
    CHECK(train.height == 28);
    CHECK(train.width == 28);
    std::vector<int64_t> counts(10, 0);
    for (int64_t i = 0; i < train.size(); ++i) {
        int64_t l = train.label(i);
        REQUIRE(l >= 0);
        REQUIRE(l < 10);
        ++counts[l];
    }
    for (int64_t c : counts) CHECK(c == 6000);  // Fashion-MNIST is balanced
    double sum = 0;
    for (uint8_t p : train.pixels) sum += p;
    CHECK(sum / train.pixels.size() / 255.0 == Approx(0.286).margin(0.001));  // the recipe's mean
    ImageDataset test = load_fashion_mnist(kFashionMnistDir, false);
    CHECK(test.size() == 10000);
}

TEST_CASE("CIFAR-10 records parse and validate", "[data]") {
    Bytes file;
    for (int r = 0; r < 3; ++r) {
        file.push_back(static_cast<uint8_t>(r * 4));  // labels 0, 4, 8
        for (int i = 0; i < 3072; ++i) file.push_back(static_cast<uint8_t>((r * 31 + i) % 251));
    }
    std::string a = temp_path("data_batch_1.bin"), b = temp_path("data_batch_2.bin");
    write_file(a, file, false);
    write_file(b, Bytes(file.begin(), file.begin() + kCifarRecordBytes), false);
    ImageDataset ds = load_cifar10_files({a, b});
    CHECK(ds.size() == 4);
    CHECK(ds.channels == 3);
    CHECK(ds.height == 32);
    CHECK(ds.width == 32);
    CHECK(ds.label(1) == 4);
    CHECK(ds.label(3) == 0);
    // Record 2, green plane (c = 1), row 5, column 7: byte 1024 + 5*32 + 7 of its image.
    Tensor t = ds.images_tensor();
    CHECK(t.at({2, 1, 5, 7}) == (2 * 31 + 1024 + 5 * 32 + 7) % 251);

    std::string cut = temp_path("cut.bin"), lab = temp_path("label.bin");
    write_file(cut, Bytes(file.begin(), file.end() - 1), false);
    CHECK_THROWS_WITH(load_cifar10_files({cut}), Catch::Contains("whole number"));
    Bytes bad_label = file;
    bad_label[kCifarRecordBytes] = 10;
    write_file(lab, bad_label, false);
    CHECK_THROWS_WITH(load_cifar10_files({lab}), Catch::Contains("record 1 has label 10"));
    CHECK_THROWS_AS(load_cifar10(temp_path("nothing_here"), false), FormatError);
}

TEST_CASE("IDX datasets: truncated or empty label files and images are refused", "[data]") {
    std::string img = temp_path("img_t"), lab = temp_path("lab_t"), cut_img = temp_path("img_cut");
    write_file(img, idx_bytes({3, 2, 2}, ramp(12)), false);
    const Bytes labels = idx_bytes({3}, {1, 2, 3});
    write_file(lab, Bytes(labels.begin(), labels.end() - 1), false);  // one label short
    CHECK_THROWS_WITH(load_idx_dataset(img, lab), Catch::Contains("lab_t") && Catch::Contains("truncated"));
    write_file(lab, {}, false);
    CHECK_THROWS_AS(load_idx_dataset(img, lab), FormatError);
    const Bytes images = idx_bytes({3, 2, 2}, ramp(12));
    write_file(cut_img, Bytes(images.begin(), images.end() - 3), true);
    write_file(lab, labels, false);
    CHECK_THROWS_WITH(load_idx_dataset(cut_img, lab), Catch::Contains("img_cut") && Catch::Contains("truncated"));
    // Labels claiming more images than the image file holds, and fewer.
    write_file(lab, idx_bytes({4}, {1, 2, 3, 4}), false);
    CHECK_THROWS_WITH(load_idx_dataset(img, lab), Catch::Contains("3 images") && Catch::Contains("4 labels"));
    // A label file that is an image file (three dims) and one of a wrong element type.
    CHECK_THROWS_WITH(load_idx_dataset(img, img), Catch::Contains("expected an IDX label file"));
    Bytes wrong_type = labels;
    wrong_type[2] = 0x0B;  // int16
    write_file(lab, wrong_type, false);
    CHECK_THROWS_WITH(load_idx_dataset(img, lab), Catch::Contains("not supported"));
}

TEST_CASE("CIFAR-10: empty, short and mislabelled batch files are refused", "[data]") {
    std::string empty = temp_path("empty_batch.bin"), shorter = temp_path("short_batch.bin");
    write_file(empty, {}, false);
    CHECK_THROWS_AS(load_cifar10_files({empty}), FormatError);
    write_file(shorter, Bytes(100, 1), false);  // less than one record
    CHECK_THROWS_WITH(load_cifar10_files({shorter}), Catch::Contains("whole number"));
    Bytes record(kCifarRecordBytes, 0);
    record[0] = 255;
    write_file(shorter, record, false);
    CHECK_THROWS_WITH(load_cifar10_files({shorter}), Catch::Contains("record 0 has label 255"));
}
