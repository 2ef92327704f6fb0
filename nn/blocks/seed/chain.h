// The two container pieces the seed forms need to reproduce the document's nn.Sequential names
// (`se.1.weight`, `conv.0.1.running_var`, `short_cut.0.weight`): a Sequential-like chain whose
// children are named by position, and a parameter-free global average pool.
#pragma once
#include <memory>
#include <vector>

#include "nn/module.h"
#include "tensor/random.h"

namespace cardinal::seed {

// Children "0", "1", ... applied in order (PyTorch nn.Sequential). With no children it is a
// plain container (nn.ModuleList) and forward is an error.
class Chain : public Module {
public:
    Chain() = default;
    explicit Chain(const std::vector<ModulePtr>& modules);

    void push_back(ModulePtr m);
    size_t size() const { return children().size(); }
    Module& at(size_t i) const { return *children().at(i).second; }

    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Sequential"; }
};

// AdaptiveAvgPool2d((1, 1)): [N, C, H, W] -> [N, C, 1, 1], the mean over H*W.
class GlobalAvgPool : public Module {
public:
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "AdaptiveAvgPool2d"; }
    std::string extra_repr() const override { return "output_size=(1, 1)"; }
};

}  // namespace cardinal::seed
