#include "apps/data_source.h"

#include <filesystem>

#include "data/cifar.h"
#include "data/idx.h"
#include "tensor/error.h"

namespace cardinal::apps {

DataSpec parse_data_spec(const std::string& text) {
    const auto colon = text.find(':');
    DataSpec spec;
    spec.kind = text.substr(0, colon);
    spec.dir = colon == std::string::npos ? "" : text.substr(colon + 1);
    if (spec.kind == "fashion-mnist" || spec.kind == "fmnist") {
        spec.kind = "fashion-mnist";
        if (spec.dir.empty()) spec.dir = kFashionMnistDir;
        spec.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
        spec.mean = {0.286};
        spec.std = {0.353};
    } else if (spec.kind == "mnist") {
        spec.class_names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
        spec.mean = {0.1307};
        spec.std = {0.3081};
    } else if (spec.kind == "cifar10") {
        spec.class_names = {"airplane", "automobile", "bird", "cat",  "deer",
                            "dog",      "frog",       "horse", "ship", "truck"};
        spec.mean = {0.4914, 0.4822, 0.4465};
        spec.std = {0.2470, 0.2435, 0.2616};
        spec.channels = 3;
        spec.size = 32;
    } else {
        fail<ValueError>("--data: unknown data set '", text,
                         "' (expected fashion-mnist[:DIR], mnist:DIR or cifar10:DIR)");
    }
    check<ValueError>(!spec.dir.empty(), "--data ", spec.kind, ": give the directory as ",
                      spec.kind, ":DIR");
    return spec;
}

std::shared_ptr<const ImageDataset> load_split(const DataSpec& spec, bool train) {
    namespace fs = std::filesystem;
    std::string hint;
    if (spec.kind == "fashion-mnist")
        hint = " (install the Debian package dataset-fashion-mnist, or pass "
               "--data fashion-mnist:DIR with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz])";
    else if (spec.kind == "mnist")
        hint = " (expected {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz])";
    else
        hint = " (expected the CIFAR-10 binary version: data_batch_1..5.bin, test_batch.bin)";
    check<ValueError>(fs::is_directory(spec.dir), "--data ", spec.kind, ": no directory ",
                      spec.dir, hint);
    try {
        if (spec.kind == "cifar10")
            return std::make_shared<const ImageDataset>(load_cifar10(spec.dir, train));
        return std::make_shared<const ImageDataset>(load_fashion_mnist(spec.dir, train));
    } catch (const FormatError& e) {
        fail<ValueError>("--data ", spec.kind, ": cannot read ", train ? "training" : "test",
                         " set from ", spec.dir, ": ", e.what(), hint);
    }
}

}  // namespace cardinal::apps
