#include "nn/blocks/seed/chain.h"

#include <string>

#include "ops/pooling.h"

namespace cardinal::seed {

Chain::Chain(const std::vector<ModulePtr>& modules) {
    for (const auto& m : modules) push_back(m);
}

void Chain::push_back(ModulePtr m) { register_module(std::to_string(size()), std::move(m)); }

Tensor Chain::forward(const Tensor& x) {
    check<ValueError>(size() > 0, "Sequential: forward through an empty chain");
    Tensor y = x;
    for (const auto& [_, m] : children()) y = m->forward(y);
    return y;
}

Tensor GlobalAvgPool::forward(const Tensor& x) {
    check<ShapeError>(x.dim() == 4, "AdaptiveAvgPool2d: expected an NCHW input, got ", describe(x));
    return global_avg_pool2d(x);
}

}  // namespace cardinal::seed
