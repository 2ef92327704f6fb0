// Conv2d: a 2-D convolution layer over NCHW input.
//   weight [out, in/groups, kh, kw], bias [out] (optional)
//   y = conv2d(x, weight, bias; stride, padding, dilation, groups)
// Built from options: Conv2d(Conv2dOptions(64, 128, 3).stride(2).padding(1).groups(32).bias(false)).
// Default init is timm's (nn/init.h): weight kaiming_normal_(fan_out, relu), bias U(+-1/sqrt(fan_in)).
#pragma once
#include <array>

#include "nn/module.h"
#include "ops/conv.h"
#include "tensor/random.h"

namespace cardinal {

class Conv2dOptions {
public:
    Conv2dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
        : in_(in_channels), out_(out_channels), kernel_{kernel_size, kernel_size} {}
    Conv2dOptions(int64_t in_channels, int64_t out_channels, std::array<int64_t, 2> kernel_size)
        : in_(in_channels), out_(out_channels), kernel_(kernel_size) {}

    Conv2dOptions& stride(int64_t s) { return stride({s, s}); }
    Conv2dOptions& stride(std::array<int64_t, 2> s) { stride_ = s; return *this; }
    Conv2dOptions& padding(int64_t p) { return padding({p, p}); }
    Conv2dOptions& padding(std::array<int64_t, 2> p) { padding_ = p; return *this; }
    Conv2dOptions& dilation(int64_t d) { return dilation({d, d}); }
    Conv2dOptions& dilation(std::array<int64_t, 2> d) { dilation_ = d; return *this; }
    Conv2dOptions& groups(int64_t g) { groups_ = g; return *this; }
    Conv2dOptions& bias(bool b) { bias_ = b; return *this; }

    int64_t in_channels() const { return in_; }
    int64_t out_channels() const { return out_; }
    std::array<int64_t, 2> kernel_size() const { return kernel_; }
    std::array<int64_t, 2> stride() const { return stride_; }
    std::array<int64_t, 2> padding() const { return padding_; }
    std::array<int64_t, 2> dilation() const { return dilation_; }
    int64_t groups() const { return groups_; }
    bool bias() const { return bias_; }

private:
    int64_t in_, out_;
    std::array<int64_t, 2> kernel_;
    std::array<int64_t, 2> stride_{1, 1};
    std::array<int64_t, 2> padding_{0, 0};
    std::array<int64_t, 2> dilation_{1, 1};
    int64_t groups_ = 1;
    bool bias_ = true;
};

class Conv2d : public Module {
public:
    explicit Conv2d(const Conv2dOptions& options, Generator* gen = nullptr);

    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Conv2d"; }
    std::string extra_repr() const override;

    const Conv2dOptions& options() const { return options_; }
    Conv2dParams params() const;
    const Tensor& weight() const { return weight_; }
    const Tensor& bias() const { return bias_; }  // undefined without bias
    // Re-draws the weights with the layer defaults.
    void reset_parameters(Generator* gen = nullptr);

private:
    Conv2dOptions options_;
    Tensor weight_, bias_;
};

}  // namespace cardinal
