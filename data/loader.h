// DataLoader: batches from an in-memory ImageDataset, shuffled and augmented reproducibly.
//
// Batch b of epoch e is a pure function of (seed, e, b): the epoch's order is a fresh random
// permutation from Generator(mix(seed, e)) and each image's augmentation uses counters
// index * kTransformCounters of a second per-epoch generator, where index is the image's
// position in the dataset. So prefetching, thread timing or resuming mid-epoch never change a
// batch, and resume needs only (seed, epoch, batch index).
//
// With prefetch on, a background thread builds batch b+1 while the caller trains on batch b.
#pragma once
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "data/transforms.h"

namespace cardinal {

struct LoaderOptions {
    int64_t batch_size = 128;
    bool shuffle = true;
    bool drop_last = false;
    int64_t limit = 0;  // use only the first `limit` samples of the dataset (0: all)
    uint64_t seed = 0;
    bool prefetch = true;
    TransformOptions transforms;
    // Data-parallel sharding: every batch keeps only part `shard` of `shards` (contiguous; with
    // a batch of m samples the first m % shards parts take one sample more, shard_range), so
    // the parts of all shards together are exactly the unsharded batch. Batches are numbered
    // and drawn as without sharding.
    int64_t shard = 0, shards = 1;
};

// Samples [begin, end) of a batch of `m` that part `shard` of `shards` takes.
struct ShardRange {
    int64_t begin = 0, end = 0;
    int64_t size() const { return end - begin; }
};
ShardRange shard_range(int64_t m, int64_t shard, int64_t shards);

struct Batch {
    Tensor images;  // float32 [B, C, H, W], transformed and normalized
    Tensor labels;  // int64 [B]
    int64_t epoch = 0;
    int64_t index = 0;  // batch index within the epoch
    int64_t global_size = 0;  // samples of the whole batch (= images.size(0) unless sharded)
};

class DataLoader {
  public:
    DataLoader(std::shared_ptr<const ImageDataset> dataset, LoaderOptions options);
    ~DataLoader();
    DataLoader(const DataLoader&) = delete;
    DataLoader& operator=(const DataLoader&) = delete;

    int64_t size() const { return size_; }  // samples per epoch (after limit)
    int64_t num_batches() const;
    const LoaderOptions& options() const { return options_; }
    const ImageDataset& dataset() const { return *dataset_; }

    // Positions the loader at batch `first_batch` of `epoch` (0-based); epoch 0 batch 0 is
    // where a new loader starts.
    void start_epoch(int64_t epoch, int64_t first_batch = 0);
    // The next batch of the current epoch into `out`; false once the epoch is exhausted.
    bool next(Batch& out);
    int64_t epoch() const { return epoch_; }
    int64_t batch_index() const { return next_index_; }  // of the batch next() returns next

    // The order in which `epoch` visits sample indices (identity when shuffle is off).
    std::vector<int64_t> permutation(int64_t epoch) const;
    // Batch `index` of `epoch`, built on the calling thread.
    Batch make_batch(int64_t epoch, int64_t index) const;

  private:
    Batch build(const std::vector<int64_t>& order, int64_t epoch, int64_t index) const;
    void request(int64_t index);  // hands batch `index` of the current epoch to the worker
    Batch wait_result();
    void discard_pending();
    void worker_loop();

    std::shared_ptr<const ImageDataset> dataset_;
    LoaderOptions options_;
    int64_t size_ = 0;
    int64_t epoch_ = 0;
    int64_t next_index_ = 0;
    std::shared_ptr<const std::vector<int64_t>> order_;

    // Prefetch worker: one request slot and one result slot, guarded by mu_.
    std::thread worker_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    bool pending_ = false;  // a request was made and its result not yet taken
    bool has_request_ = false;
    bool has_result_ = false;
    std::shared_ptr<const std::vector<int64_t>> request_order_;
    int64_t request_epoch_ = 0, request_index_ = 0;
    Batch result_;
    std::exception_ptr error_;
};

}  // namespace cardinal
