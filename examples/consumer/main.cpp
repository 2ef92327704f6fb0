// Uses cardinal as an installed package: a named model, its weights written and loaded back into
// a differently initialised copy (Module::load_state_dict and its report), a forward of both, the
// same model built for another class and channel count, its printed module tree, and a float64
// gradcheck of a grouped conv. Exits 0 when every check holds; prints one line per check.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <cardinal/version.h>
#include "autograd/gradcheck.h"
#include "autograd/variable.h"
#include "io/safetensors.h"
#include "models/resnet.h"
#include "models/weights.h"
#include "ops/ops.h"
#include "tensor/random.h"

using namespace cardinal;

int main() {
    std::printf("cardinal %s\n", kVersion);
    bool ok = true;

    Generator g1(1), g2(2);
    auto a = create_model("resnext_small", &g1);
    auto b = create_model("resnext_small", &g2);
    a->eval();
    b->eval();
    const std::string path =
        (std::filesystem::temp_directory_path() / "cardinal_consumer_weights.safetensors").string();
    save_weights(*a, path);
    const LoadStateReport report = b->load_state_dict(load_safetensors(path).tensors);
    std::filesystem::remove(path);
    const bool complete = report.missing.empty() && report.unexpected.empty();
    std::printf("load_state_dict: %zu missing, %zu unexpected, %zu skipped keys\n",
                report.missing.size(), report.unexpected.size(), report.skipped.size());
    ok = ok && complete;
    Generator gx(3);
    const Tensor x = randn({2, 1, 28, 28}, DType::Float32, &gx);  // resnext_small: Fashion-MNIST images
    const std::vector<double> ya = a->forward(x).to_vector(), yb = b->forward(x).to_vector();
    const bool same = !ya.empty() && ya == yb;
    std::printf("resnext_small: %zu logits, loaded copy %s\n", ya.size(),
                same ? "matches" : "DIFFERS");
    ok = ok && same;

    auto rgb = create_model("resnext_small", {.num_classes = 5, .in_chans = 3}, &g1);
    rgb->eval();
    const bool five = rgb->forward(randn({1, 3, 28, 28}, DType::Float32, &gx)).shape() == Shape{1, 5};
    std::ostringstream tree;
    tree << *rgb;
    const bool printed = tree.str().rfind("ResNet(\n  (conv1): Sequential(", 0) == 0;
    std::cout << "resnext_small for 3 channels, 5 classes: " << (five ? "[1, 5] logits" : "WRONG")
              << ", module tree " << (printed ? "printed" : "WRONG") << "\n";
    ok = ok && five && printed;

    Tensor xin = set_requires_grad(randn({2, 8, 5, 5}, DType::Float64, &gx));
    Tensor w = set_requires_grad(randn({16, 2, 3, 3}, DType::Float64, &gx));
    auto f = [](const std::vector<Tensor>& in) {
        Conv2dParams p;
        p.padding = {1, 1};
        p.groups = 4;
        return sum(relu(conv2d(in[0], in[1], Tensor(), p)));
    };
    const auto result = gradcheck(f, {xin, w});
    std::printf("grouped conv gradcheck: %s\n", result.ok ? "ok" : "FAIL");
    ok = ok && result.ok;
    return ok ? 0 : 1;
}
