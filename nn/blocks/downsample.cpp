#include "nn/blocks/downsample.h"

#include "nn/layers/basic.h"
#include "nn/layers/batch_norm.h"
#include "nn/layers/conv.h"
#include "nn/layers/pooling.h"

namespace cardinal {

std::shared_ptr<Sequential> make_downsample(int64_t in_channels, int64_t out_channels, int64_t stride,
                                            bool avg_down, Generator* gen) {
    check<ValueError>(in_channels > 0 && out_channels > 0 && stride > 0,
                      "make_downsample: channels and stride must be positive, got in=", in_channels,
                      " out=", out_channels, " stride=", stride);
    auto seq = std::make_shared<Sequential>();
    if (avg_down) {
        if (stride == 1) {
            seq->push_back(std::make_shared<Identity>());
        } else {
            seq->push_back(std::make_shared<AvgPool2d>(
                Pool2dOptions(2).stride(stride).ceil_mode(true).count_include_pad(false)));
        }
        seq->push_back(std::make_shared<Conv2d>(Conv2dOptions(in_channels, out_channels, 1).bias(false), gen));
    } else {
        seq->push_back(std::make_shared<Conv2d>(
            Conv2dOptions(in_channels, out_channels, 1).stride(stride).bias(false), gen));
    }
    seq->push_back(std::make_shared<BatchNorm2d>(out_channels));
    return seq;
}

}  // namespace cardinal
