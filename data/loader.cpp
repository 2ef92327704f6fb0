#include "data/loader.h"

#include <algorithm>
#include <numeric>

#include "tensor/random.h"

namespace cardinal {
namespace {

// Distinct, well-mixed seeds per (seed, epoch, stream) for the order and augmentation streams.
uint64_t mix(uint64_t seed, int64_t epoch, uint64_t stream) {
    uint64_t x =
        seed * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(epoch) + 1) * 0xD1B54A32D192ED03ull;
    x ^= stream * 0xA24BAED4963EE407ull;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    return x ^ (x >> 29);
}

}  // namespace

DataLoader::DataLoader(std::shared_ptr<const ImageDataset> dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
    check<ValueError>(dataset_ != nullptr && dataset_->size() > 0, "DataLoader: empty dataset");
    const ImageDataset& d = *dataset_;
    check<ValueError>(static_cast<int64_t>(d.pixels.size()) == d.size() * d.image_numel(),
                      "DataLoader: dataset holds ", d.pixels.size(), " pixel bytes for ", d.size(),
                      " images of ", d.channels, "x", d.height, "x", d.width);
    check<ValueError>(options_.batch_size > 0, "DataLoader: batch_size must be > 0, got ",
                      options_.batch_size);
    check<ValueError>(options_.limit >= 0, "DataLoader: limit must be >= 0, got ", options_.limit);
    check<ValueError>(options_.shards >= 1 && options_.shard >= 0 && options_.shard < options_.shards,
                      "DataLoader: expected shard in [0, shards), got shard ", options_.shard, " of ",
                      options_.shards);
    options_.transforms.validate(d.channels);
    size_ = options_.limit > 0 ? std::min(options_.limit, d.size()) : d.size();
    check<ValueError>(num_batches() > 0, "DataLoader: ", size_, " samples make no batch of ",
                      options_.batch_size, " with drop_last");
    start_epoch(0);
}

DataLoader::~DataLoader() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
}

int64_t DataLoader::num_batches() const {
    const int64_t b = options_.batch_size;
    return options_.drop_last ? size_ / b : (size_ + b - 1) / b;
}

std::vector<int64_t> DataLoader::permutation(int64_t epoch) const {
    if (!options_.shuffle) {
        std::vector<int64_t> order(size_);
        std::iota(order.begin(), order.end(), 0);
        return order;
    }
    Generator gen(mix(options_.seed, epoch, 0));
    Tensor perm = randperm(size_, &gen);
    const int64_t* p = perm.data<int64_t>();
    return std::vector<int64_t>(p, p + size_);
}

void DataLoader::start_epoch(int64_t epoch, int64_t first_batch) {
    check<ValueError>(epoch >= 0, "DataLoader: epoch must be >= 0, got ", epoch);
    check<ValueError>(first_batch >= 0 && first_batch <= num_batches(), "DataLoader: batch ",
                      first_batch, " out of range [0, ", num_batches(), "]");
    discard_pending();
    if (epoch != epoch_ || !order_)
        order_ = std::make_shared<const std::vector<int64_t>>(permutation(epoch));
    epoch_ = epoch;
    next_index_ = first_batch;
}

Batch DataLoader::make_batch(int64_t epoch, int64_t index) const {
    check<IndexError>(index >= 0 && index < num_batches(), "DataLoader: batch ", index,
                      " out of range [0, ", num_batches(), ")");
    return build(permutation(epoch), epoch, index);
}

ShardRange shard_range(int64_t m, int64_t shard, int64_t shards) {
    check<ValueError>(shards >= 1 && shard >= 0 && shard < shards, "shard_range: expected a shard in [0, ",
                      shards, "), got ", shard);
    const int64_t base = m / shards, extra = m % shards;
    ShardRange r;
    r.begin = shard * base + std::min(shard, extra);
    r.end = r.begin + base + (shard < extra ? 1 : 0);
    return r;
}

Batch DataLoader::build(const std::vector<int64_t>& order, int64_t epoch, int64_t index) const {
    const ImageDataset& d = *dataset_;
    const int64_t global_begin = index * options_.batch_size;
    const int64_t global_count = std::min(options_.batch_size, size_ - global_begin);
    const ShardRange part = shard_range(global_count, options_.shard, options_.shards);
    const int64_t begin = global_begin + part.begin;
    const int64_t count = part.size();
    Batch batch;
    batch.epoch = epoch;
    batch.index = index;
    batch.global_size = global_count;
    batch.images = empty({count, d.channels, d.height, d.width}, DType::Float32);
    batch.labels = empty({count}, DType::Int64);
    float* images = batch.images.data<float>();
    int64_t* labels = batch.labels.data<int64_t>();
    const Generator aug(mix(options_.seed, epoch, 1));
    for (int64_t j = 0; j < count; ++j) {
        const int64_t sample = order[begin + j];
        transform_image(d.image(sample), d.channels, d.height, d.width, options_.transforms, aug,
                        static_cast<uint64_t>(sample) * kTransformCounters,
                        images + j * d.image_numel());
        labels[j] = d.label(sample);
    }
    return batch;
}

bool DataLoader::next(Batch& out) {
    if (next_index_ >= num_batches()) {
        discard_pending();
        return false;
    }
    if (!options_.prefetch) {
        out = build(*order_, epoch_, next_index_);
    } else {
        if (!pending_) request(next_index_);
        out = wait_result();
        if (next_index_ + 1 < num_batches()) request(next_index_ + 1);
    }
    ++next_index_;
    return true;
}

void DataLoader::request(int64_t index) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (!worker_.joinable()) worker_ = std::thread(&DataLoader::worker_loop, this);
        request_order_ = order_;
        request_epoch_ = epoch_;
        request_index_ = index;
        has_request_ = true;
        pending_ = true;
    }
    cv_.notify_all();
}

Batch DataLoader::wait_result() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return has_result_; });
    has_result_ = false;
    pending_ = false;
    Batch b = std::move(result_);
    result_ = Batch();
    if (error_) {
        std::exception_ptr e = error_;
        error_ = nullptr;
        std::rethrow_exception(e);
    }
    return b;
}

void DataLoader::discard_pending() {
    if (!pending_) return;
    try {
        wait_result();
    } catch (const std::exception&) {
        // The batch is being thrown away; so is its failure.
    }
}

void DataLoader::worker_loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        cv_.wait(lock, [&] { return stop_ || has_request_; });
        if (stop_) return;
        has_request_ = false;
        auto order = request_order_;
        const int64_t epoch = request_epoch_, index = request_index_;
        lock.unlock();
        Batch b;
        std::exception_ptr err;
        try {
            b = build(*order, epoch, index);
        } catch (...) {
            err = std::current_exception();
        }
        lock.lock();
        result_ = std::move(b);
        error_ = err;
        has_result_ = true;
        cv_.notify_all();
    }
}

}  // namespace cardinal
