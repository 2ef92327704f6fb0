// Structural layers without parameters.
#pragma once
#include "nn/module.h"

namespace cardinal {

class Identity : public Module {
public:
    Tensor forward(const Tensor& x) override { return x; }
    std::string type_name() const override { return "Identity"; }
};

// Flattens dims [start_dim, end_dim] into one.
class Flatten : public Module {
public:
    explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_(start_dim), end_(end_dim) {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Flatten"; }
    std::string extra_repr() const override {
        return "start_dim=" + std::to_string(start_) + ", end_dim=" + std::to_string(end_);
    }

private:
    int64_t start_, end_;
};

}  // namespace cardinal
