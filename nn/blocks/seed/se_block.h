// SEBlock: the seed notes' squeeze-and-excitation (docs/seed-forms.md section 4), rd = C // 16:
//   g = sigmoid(conv1x1_{rd->C}(relu(conv1x1_{C->rd}(GAP(x)) + b1)) + b3)   [B, C, 1, 1]
//   y = x * g                                                             (broadcast over H, W)
// The gate is the document's nn.Sequential(AdaptiveAvgPool2d(1), Conv2d(C, rd, 1), ReLU(),
// Conv2d(rd, C, 1), Sigmoid()), so its weights are se.1.* and se.3.* (both convs have biases).
//
// Versus timm SEModule: the reduced width here is C // 16 (C = 64 gives 4), timm's is
// make_divisible(C / 16, 8) (at least 8, a multiple of 8); timm names the convs fc1/fc2.
// The math is otherwise identical.
#pragma once
#include <memory>

#include "nn/layers/container.h"
#include "tensor/random.h"

namespace cardinal::seed {

// The gate g above as the document's Sequential; channels >= 16.
std::shared_ptr<Sequential> make_se_gate(int64_t channels, Generator* gen = nullptr);

class SEBlock : public Module {
public:
    explicit SEBlock(int64_t channels, Generator* gen = nullptr);

    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "SEBlock"; }
    std::string extra_repr() const override;

private:
    int64_t channels_;
    std::shared_ptr<Sequential> se_;
};

}  // namespace cardinal::seed
