#include "nn/layers/conv.h"

#include "nn/init.h"
#include "nn/layers/repr.h"
#include "ops/precision.h"

namespace cardinal {

Conv2d::Conv2d(const Conv2dOptions& o, Generator* gen) : options_(o) {
    check<ValueError>(o.in_channels() > 0 && o.out_channels() > 0, "Conv2d: channels must be positive, got in=",
                      o.in_channels(), " out=", o.out_channels());
    check<ValueError>(o.groups() > 0, "Conv2d: groups must be positive, got ", o.groups());
    check<ValueError>(o.in_channels() % o.groups() == 0 && o.out_channels() % o.groups() == 0,
                      "Conv2d: in_channels (", o.in_channels(), ") and out_channels (", o.out_channels(),
                      ") must both be divisible by groups (", o.groups(), ")");
    for (int i = 0; i < 2; ++i) {
        check<ValueError>(o.kernel_size()[i] > 0 && o.stride()[i] > 0 && o.dilation()[i] > 0 &&
                              o.padding()[i] >= 0,
                          "Conv2d: kernel_size, stride and dilation must be positive and padding "
                          "non-negative, got ", size2_repr(o.kernel_size()), ", ", size2_repr(o.stride()),
                          ", ", size2_repr(o.dilation()), ", ", size2_repr(o.padding()));
    }
    weight_ = register_parameter(
        "weight", empty({o.out_channels(), o.in_channels() / o.groups(), o.kernel_size()[0],
                         o.kernel_size()[1]}));
    if (o.bias()) bias_ = register_parameter("bias", empty({o.out_channels()}));
    reset_parameters(gen);
}

void Conv2d::reset_parameters(Generator* gen) {
    init::conv_weight_(weight_, gen);
    if (bias_.defined()) init::conv_bias_(bias_, weight_, gen);
}

Conv2dParams Conv2d::params() const {
    Conv2dParams p;
    p.stride = options_.stride();
    p.padding = options_.padding();
    p.dilation = options_.dilation();
    p.groups = options_.groups();
    return p;
}

// A bf16 activation (bf16 inference) reaching a convolution with no BatchNorm folded into it
// (the last conv of a deep stem, whose BatchNorm follows outside its Sequential) runs in float32.
Tensor Conv2d::forward(const Tensor& x) {
    return conv2d(float32_activation(x), weight_, bias_, params());
}

std::string Conv2d::extra_repr() const {
    const auto& o = options_;
    std::string s = std::to_string(o.in_channels()) + ", " + std::to_string(o.out_channels()) +
                    ", kernel_size=" + tuple_repr(o.kernel_size()) + ", stride=" + tuple_repr(o.stride());
    if (o.padding() != std::array<int64_t, 2>{0, 0}) s += ", padding=" + tuple_repr(o.padding());
    if (o.dilation() != std::array<int64_t, 2>{1, 1}) s += ", dilation=" + tuple_repr(o.dilation());
    if (o.groups() != 1) s += ", groups=" + std::to_string(o.groups());
    if (!o.bias()) s += ", bias=False";
    return s;
}

}  // namespace cardinal
