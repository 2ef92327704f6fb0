#include "nn/blocks/seed/se_block.h"

#include <string>

#include "nn/layers/activation.h"
#include "nn/layers/conv.h"
#include "nn/layers/pooling.h"
#include "ops/arithmetic.h"

namespace cardinal::seed {

std::shared_ptr<Sequential> make_se_gate(int64_t channels, Generator* gen) {
    check<ValueError>(channels >= 16, "SEBlock: channels must be at least 16 (the reduced width is "
                      "channels // 16), got ", channels);
    const int64_t rd = channels / 16;
    return std::shared_ptr<Sequential>(new Sequential{
        std::make_shared<AdaptiveAvgPool2d>(1),
        std::make_shared<Conv2d>(Conv2dOptions(channels, rd, 1).bias(true), gen),
        std::make_shared<ReLU>(),
        std::make_shared<Conv2d>(Conv2dOptions(rd, channels, 1).bias(true), gen),
        std::make_shared<Sigmoid>(),
    });
}

SEBlock::SEBlock(int64_t channels, Generator* gen) : channels_(channels) {
    se_ = register_module("se", make_se_gate(channels, gen));
}

Tensor SEBlock::forward(const Tensor& x) {
    check<ShapeError>(x.dim() == 4 && x.size(1) == channels_, "SEBlock: expected [N, ", channels_,
                      ", H, W], got ", describe(x));
    return mul(x, se_->forward(x));
}

std::string SEBlock::extra_repr() const { return "channels=" + std::to_string(channels_); }

}  // namespace cardinal::seed
