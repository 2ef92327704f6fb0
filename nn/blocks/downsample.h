// The projection shortcut of block 0 of a stage (docs/timm-configs.md section 2.3), shared by
// every block type
// and by models/:
//   avg_down = false: Sequential(0: Conv2d 1x1 stride s, no bias, in -> out; 1: BN(out))
//   avg_down = true:  Sequential(0: AvgPool2d(2, s, ceil_mode, count_include_pad=False), or
//                     Identity when s == 1; 1: Conv2d 1x1 stride 1, no bias; 2: BN(out))
// so the names are downsample.0/1 or downsample.1/2 inside a block.
#pragma once
#include <memory>

#include "nn/layers/container.h"
#include "tensor/random.h"

namespace cardinal {

std::shared_ptr<Sequential> make_downsample(int64_t in_channels, int64_t out_channels, int64_t stride,
                                            bool avg_down, Generator* gen = nullptr);

}  // namespace cardinal
