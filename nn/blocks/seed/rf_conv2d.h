// RFConv2d: rectified convolution as the official rfconv package computes it (docs/seed-forms.md
// section 6.1).
//   y = conv2d(x, weight, bias)  (bias included), then y[.., oy, ox] *= factor(oy, ox) with
//   count = in-bounds taps of the unpadded input, factor = kh*kw / count (sum mode) or
//   1 / count (average mode). The op is cardinal::rectified_conv2d (ops/conv.h).
// Same parameters and names as Conv2d (weight, bias), so SplAtConv2d's `conv` can be either.
//
// timm has no rectified convolution.
#pragma once
#include "nn/layers/conv.h"

namespace cardinal::seed {

class RFConv2d : public Conv2d {
public:
    RFConv2d(const Conv2dOptions& options, bool average_mode, Generator* gen = nullptr)
        : Conv2d(options, gen), average_mode_(average_mode) {}

    Tensor forward(const Tensor& x) override {
        return rectified_conv2d(x, weight(), bias(), params(), average_mode_);
    }
    std::string type_name() const override { return "RFConv2d"; }
    std::string extra_repr() const override {
        return Conv2d::extra_repr() + (average_mode_ ? ", average_mode=True" : "");
    }
    bool average_mode() const { return average_mode_; }

private:
    bool average_mode_;
};

}  // namespace cardinal::seed
