// Uses cardinal as an installed package: a named model, its weights written and loaded back into
// a differently initialised copy, a forward of both, and a float64 gradcheck of a grouped conv.
// Exits 0 when every check holds; prints one line per check.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <cardinal/version.h>
#include "autograd/gradcheck.h"
#include "autograd/variable.h"
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
    load_weights(*b, path);
    std::filesystem::remove(path);
    Generator gx(3);
    const Tensor x = randn({2, 1, 28, 28}, DType::Float32, &gx);  // resnext_small: Fashion-MNIST images
    const std::vector<double> ya = a->forward(x).to_vector(), yb = b->forward(x).to_vector();
    const bool same = !ya.empty() && ya == yb;
    std::printf("resnext_small: %zu logits, loaded copy %s\n", ya.size(),
                same ? "matches" : "DIFFERS");
    ok = ok && same;

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
