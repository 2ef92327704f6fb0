// Regularisers that zero parts of a tensor in training and are the identity in eval.
// All draw from a seeded Generator (the default one when null), so runs are reproducible.
#pragma once
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace cardinal {

// Zeroes each element with probability p, scales the rest by 1/(1-p).
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);
// DropBlock (Ghiasi et al. 2018, as in the ResNeSt code): zeroes block_size x block_size
// squares, rescaled by numel / kept.
Tensor drop_block2d(const Tensor& x, double p, int64_t block_size, bool training,
                    Generator* gen = nullptr);
// Stochastic depth: zeroes whole samples with probability p, scales kept ones by 1/(1-p).
Tensor drop_path(const Tensor& x, double p, bool training, Generator* gen = nullptr);

}  // namespace cardinal
