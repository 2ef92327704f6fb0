// Parameter-free activation layers.
#pragma once
#include "nn/module.h"

namespace cardinal {

class ReLU : public Module {
public:
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "ReLU"; }
};

class Sigmoid : public Module {
public:
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Sigmoid"; }
};

class Softmax : public Module {
public:
    explicit Softmax(int64_t dim) : dim_(dim) {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Softmax"; }
    std::string extra_repr() const override { return "dim=" + std::to_string(dim_); }

private:
    int64_t dim_;
};

}  // namespace cardinal
