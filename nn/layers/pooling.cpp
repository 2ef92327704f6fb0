#include "nn/layers/pooling.h"

#include "nn/layers/repr.h"

namespace cardinal {
namespace {

void check_options(const char* layer, const Pool2dOptions& o) {
    for (int i = 0; i < 2; ++i) {
        check<ValueError>(o.kernel_size()[i] > 0 && o.stride()[i] > 0 && o.dilation()[i] > 0,
                          layer, ": kernel_size, stride and dilation must be positive, got kernel_size=",
                          size2_repr(o.kernel_size()), " stride=", size2_repr(o.stride()),
                          " dilation=", size2_repr(o.dilation()));
        check<ValueError>(o.padding()[i] >= 0 && 2 * o.padding()[i] <= o.kernel_size()[i], layer,
                          ": padding must be in [0, kernel_size/2], got padding=", size2_repr(o.padding()),
                          " for kernel_size=", size2_repr(o.kernel_size()));
    }
}

}  // namespace

MaxPool2d::MaxPool2d(const Pool2dOptions& options) : options_(options) {
    check_options("MaxPool2d", options_);
}

Tensor MaxPool2d::forward(const Tensor& x) {
    const auto& o = options_;
    return max_pool2d(x, o.kernel_size(), o.stride(), o.padding(), o.dilation(), o.ceil_mode());
}

std::string MaxPool2d::extra_repr() const {
    const auto& o = options_;
    return "kernel_size=" + size2_repr(o.kernel_size()) + ", stride=" + size2_repr(o.stride()) +
           ", padding=" + size2_repr(o.padding()) + ", dilation=" + size2_repr(o.dilation()) +
           ", ceil_mode=" + bool_repr(o.ceil_mode());
}

AvgPool2d::AvgPool2d(const Pool2dOptions& options) : options_(options) {
    check_options("AvgPool2d", options_);
    check<ValueError>(options_.dilation() == Size2{1, 1}, "AvgPool2d: dilation is not supported, got ",
                      size2_repr(options_.dilation()));
}

Tensor AvgPool2d::forward(const Tensor& x) {
    const auto& o = options_;
    return avg_pool2d(x, o.kernel_size(), o.stride(), o.padding(), o.ceil_mode(), o.count_include_pad());
}

std::string AvgPool2d::extra_repr() const {
    const auto& o = options_;
    return "kernel_size=" + size2_repr(o.kernel_size()) + ", stride=" + size2_repr(o.stride()) +
           ", padding=" + size2_repr(o.padding());
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Size2 output_size) : output_size_(output_size) {
    check<ValueError>(output_size[0] > 0 && output_size[1] > 0,
                      "AdaptiveAvgPool2d: output_size must be positive, got ", size2_repr(output_size));
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) {
    if (output_size_ == Size2{1, 1}) return global_avg_pool2d(x);
    return adaptive_avg_pool2d(x, output_size_);
}

std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + size2_repr(output_size_); }

}  // namespace cardinal
