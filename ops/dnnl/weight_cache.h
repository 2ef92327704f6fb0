// Weights reordered into the layout a oneDNN primitive wants, kept while the weight is unchanged.
//
// Why: parameters stay plain (oihw / goihw) so that state_dict, checkpoints and the float64
// path never see oneDNN's layouts, but the fast kernels read blocked weights (Acdb64a,
// aBCde4c4b, ...). Reordering them on every call costs as much as a small layer at batch 1, and
// in training the forward and the backward-data pass want the same reordered weights. An entry
// is keyed by the weight's storage id, offset and target layout, and is valid for one storage
// version (tensor/tensor.h): any in-place write (optimizer step, copy_, load_state_dict) makes
// the next call reorder again. Entries of freed storages are dropped.
#pragma once
#include <functional>

#include <oneapi/dnnl/dnnl.hpp>

#include "tensor/tensor.h"

namespace cardinal::onednn {

// A buffer holding `w` (contiguous, described by `user_md`) reordered to `prim_md` with
// `convert` (a user -> prim reorder), from the cache when w is unchanged since the last call.
Tensor prepared_weights(const Tensor& w, const dnnl::memory::desc& user_md,
                        const dnnl::memory::desc& prim_md, const dnnl::reorder& convert);

// The same for a weight made on demand (a convolution's weights with a BatchNorm folded in,
// nn/layers/conv_bn_fold.h): `key`'s storage (id, offset, version) names the values, and `make`
// computes them (contiguous, described by `user_md`) only when no entry holds them. Only the
// copy in prim_md is kept, so the made weight lives just long enough to be reordered. convert
// is null when prim_md is user_md: then the made tensor itself is kept.
Tensor prepared_weights(const Tensor& key, const std::function<Tensor()>& make,
                        const dnnl::memory::desc& user_md, const dnnl::memory::desc& prim_md,
                        const dnnl::reorder* convert);

// Drops every copy kept under `key`'s storage (a weight about to be trained: its copies would go
// stale at the first optimizer step and only hold memory until the next inference call).
void forget_weights(const Tensor& key);

struct WeightCacheStats {
    int64_t hits = 0, reorders = 0, entries = 0;
};
WeightCacheStats weight_cache_stats();
void clear_weight_cache();

}  // namespace cardinal::onednn
