// compare_weights A.safetensors B.safetensors TOLERANCE: every floating tensor of A equals B's
// of the same name within TOLERANCE (max |a - b| / (1 + |b|)); prints the largest difference.
// Exit 0 when they agree, 1 (naming the tensor) when not, 2 on bad usage.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "io/safetensors.h"

using namespace cardinal;

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: compare_weights A.safetensors B.safetensors TOLERANCE\n");
        return 2;
    }
    const SafetensorsFile a = load_safetensors(argv[1]), b = load_safetensors(argv[2]);
    const double tolerance = std::atof(argv[3]);
    double worst = 0;
    std::string worst_name;
    for (const auto& [name, t] : a.tensors) {
        if (!is_floating(t.dtype())) continue;
        if (!b.contains(name)) {
            std::fprintf(stderr, "%s has no tensor %s\n", argv[2], name.c_str());
            return 1;
        }
        const std::vector<double> x = t.to_vector(), y = b.get(name).to_vector();
        if (x.size() != y.size()) {
            std::fprintf(stderr, "%s: %zu values against %zu\n", name.c_str(), x.size(), y.size());
            return 1;
        }
        for (size_t i = 0; i < x.size(); ++i) {
            const double d = std::fabs(x[i] - y[i]) / (1.0 + std::fabs(y[i]));
            if (d > worst) {
                worst = d;
                worst_name = name;
            }
        }
    }
    std::printf("largest relative difference %.3g (%s), tolerance %.3g\n", worst, worst_name.c_str(), tolerance);
    return worst <= tolerance ? 0 : 1;
}
