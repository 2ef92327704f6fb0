// Containers. Children are named "0", "1", ... in insertion order, as in PyTorch, so a
// Sequential inside a network gives names like `downsample.1.weight`.
#pragma once
#include <initializer_list>

#include "nn/module.h"

namespace cardinal {

// Runs its children one after another.
class Sequential : public Module {
public:
    Sequential() = default;
    Sequential(std::initializer_list<ModulePtr> modules);

    void push_back(ModulePtr m);
    size_t size() const { return children().size(); }
    const ModulePtr& operator[](size_t i) const;

    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Sequential"; }
};

// Holds modules (registered, named "0", "1", ...) for a parent that calls them itself.
class ModuleList : public Module {
public:
    ModuleList() = default;
    ModuleList(std::initializer_list<ModulePtr> modules);

    void push_back(ModulePtr m);
    size_t size() const { return children().size(); }
    const ModulePtr& operator[](size_t i) const;

    // A ModuleList has no forward of its own: calling it is a ValueError.
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "ModuleList"; }
};

}  // namespace cardinal
