// Regularisers: identity in eval, random in training. Each draws from the Generator given at
// construction (the default generator when null); the caller owns it and must keep it alive.
#pragma once
#include "nn/module.h"
#include "tensor/random.h"

namespace cardinal {

// Zeroes elements with probability p, scales the rest by 1/(1-p).
class Dropout : public Module {
public:
    explicit Dropout(double p = 0.5, Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Dropout"; }
    std::string extra_repr() const override;
    double p() const { return p_; }

private:
    double p_;
    Generator* gen_;
};

// DropBlock: zeroes block_size x block_size squares (ResNeSt / timm regulariser).
class DropBlock2d : public Module {
public:
    explicit DropBlock2d(double p = 0.1, int64_t block_size = 7, Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "DropBlock2d"; }
    std::string extra_repr() const override;

private:
    double p_;
    int64_t block_size_;
    Generator* gen_;
};

// Stochastic depth: zeroes whole samples with probability p (applied to a residual branch).
class DropPath : public Module {
public:
    explicit DropPath(double p = 0.0, Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "DropPath"; }
    std::string extra_repr() const override;

private:
    double p_;
    Generator* gen_;
};

}  // namespace cardinal
