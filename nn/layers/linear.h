// Linear: y = x W^T + b, x [N, in], W [out, in], b [out]. PyTorch's default init.
#pragma once
#include "nn/module.h"
#include "tensor/random.h"

namespace cardinal {

class Linear : public Module {
public:
    Linear(int64_t in_features, int64_t out_features, bool bias = true, Generator* gen = nullptr);

    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Linear"; }
    std::string extra_repr() const override;

    const Tensor& weight() const { return weight_; }
    const Tensor& bias() const { return bias_; }
    void reset_parameters(Generator* gen = nullptr);

private:
    int64_t in_, out_;
    Tensor weight_, bias_;
};

}  // namespace cardinal
