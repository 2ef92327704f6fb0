// Pooling layers over NCHW input. Options builder, as for Conv2d:
//   MaxPool2d(Pool2dOptions(3).stride(2).padding(1))                 stem max-pool (-inf padding)
//   AvgPool2d(Pool2dOptions(3).stride(2).padding(1))                 ResNeSt avd pool (/9 always)
//   AvgPool2d(Pool2dOptions(2).stride(2).ceil_mode(true).count_include_pad(false))   avg_down
// stride defaults to the kernel size.
#pragma once
#include "nn/module.h"
#include "ops/pooling.h"

namespace cardinal {

class Pool2dOptions {
public:
    explicit Pool2dOptions(int64_t kernel_size) : kernel_{kernel_size, kernel_size} {}
    explicit Pool2dOptions(Size2 kernel_size) : kernel_(kernel_size) {}

    Pool2dOptions& stride(int64_t s) { return stride(Size2{s, s}); }
    Pool2dOptions& stride(Size2 s) { stride_ = s; return *this; }
    Pool2dOptions& padding(int64_t p) { return padding(Size2{p, p}); }
    Pool2dOptions& padding(Size2 p) { padding_ = p; return *this; }
    Pool2dOptions& dilation(int64_t d) { return dilation(Size2{d, d}); }
    Pool2dOptions& dilation(Size2 d) { dilation_ = d; return *this; }
    Pool2dOptions& ceil_mode(bool c) { ceil_mode_ = c; return *this; }
    Pool2dOptions& count_include_pad(bool c) { count_include_pad_ = c; return *this; }

    Size2 kernel_size() const { return kernel_; }
    Size2 stride() const { return stride_[0] == 0 ? kernel_ : stride_; }
    Size2 padding() const { return padding_; }
    Size2 dilation() const { return dilation_; }
    bool ceil_mode() const { return ceil_mode_; }
    bool count_include_pad() const { return count_include_pad_; }

private:
    Size2 kernel_;
    Size2 stride_{0, 0};
    Size2 padding_{0, 0};
    Size2 dilation_{1, 1};
    bool ceil_mode_ = false;
    bool count_include_pad_ = true;
};

class MaxPool2d : public Module {
public:
    explicit MaxPool2d(const Pool2dOptions& options);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "MaxPool2d"; }
    std::string extra_repr() const override;
    const Pool2dOptions& options() const { return options_; }

private:
    Pool2dOptions options_;
};

class AvgPool2d : public Module {
public:
    explicit AvgPool2d(const Pool2dOptions& options);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "AvgPool2d"; }
    std::string extra_repr() const override;
    const Pool2dOptions& options() const { return options_; }

private:
    Pool2dOptions options_;
};

// Output [N, C, oh, ow] with PyTorch's adaptive windows; (1, 1) is the global mean.
class AdaptiveAvgPool2d : public Module {
public:
    explicit AdaptiveAvgPool2d(int64_t output_size) : AdaptiveAvgPool2d(Size2{output_size, output_size}) {}
    explicit AdaptiveAvgPool2d(Size2 output_size);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "AdaptiveAvgPool2d"; }
    std::string extra_repr() const override;

private:
    Size2 output_size_;
};

}  // namespace cardinal
