// Pieces shared by ops/pooling.cpp (windowed pools) and ops/adaptive_pooling.cpp; not public.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace cardinal::pool_detail {

struct PoolDims {
    int64_t planes, H, W;  // planes = N*C
};

// Checks a 4-d floating input with a non-empty plane; names `op` in errors.
PoolDims check_input(const Tensor& x, const char* op);

// Records y = x[argmax] for a max pool: argmax[plane * OH*OW + o] is the flat index inside
// x's H*W plane of output o's maximum (-1 when the window held no input). Backward scatters
// each gradient to its argmax. With channels_last, argmax is in NHWC order
// ((n*OH*OW + o)*C + c) and the gradient is channels-last too.
void record_max_pool(const char* node_name, const Tensor& x, const Tensor& y,
                     std::vector<int32_t> argmax, bool channels_last = false);

}  // namespace cardinal::pool_detail
