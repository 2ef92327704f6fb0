#include "nn/layers/linear.h"

#include "nn/init.h"
#include "nn/layers/repr.h"
#include "ops/linear.h"

namespace cardinal {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, Generator* gen)
    : in_(in_features), out_(out_features) {
    check<ValueError>(in_features > 0 && out_features > 0, "Linear: features must be positive, got in=",
                      in_features, " out=", out_features);
    weight_ = register_parameter("weight", empty({out_features, in_features}));
    if (bias) bias_ = register_parameter("bias", empty({out_features}));
    reset_parameters(gen);
}

void Linear::reset_parameters(Generator* gen) {
    init::linear_weight_(weight_, gen);
    if (bias_.defined()) init::linear_bias_(bias_, weight_, gen);
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight_, bias_); }

std::string Linear::extra_repr() const {
    return "in_features=" + std::to_string(in_) + ", out_features=" + std::to_string(out_) +
           ", bias=" + bool_repr(bias_.defined());
}

}  // namespace cardinal
