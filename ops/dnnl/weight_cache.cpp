#include "ops/dnnl/weight_cache.h"

#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "ops/dnnl/dnnl_context.h"
#include "ops/dnnl/reorder_stats.h"
#include "tensor/allocator.h"

namespace cardinal::onednn {
namespace {

struct Entry {
    std::weak_ptr<Storage> storage;  // the weight's; expired means the weight is gone
    int64_t offset = 0;
    uint64_t version = 0;
    dnnl::memory::desc md;
    Tensor buffer;
};

struct Cache {
    std::mutex mutex;
    std::unordered_map<uint64_t, std::vector<Entry>> by_storage;
    WeightCacheStats stats;

    void drop_expired() {
        for (auto it = by_storage.begin(); it != by_storage.end();) {
            if (it->second.empty() || it->second.front().storage.expired()) {
                stats.entries -= static_cast<int64_t>(it->second.size());
                it = by_storage.erase(it);
            } else {
                ++it;
            }
        }
    }
};

Cache& cache() {
    static Cache c;
    return c;
}

// `make()` in prim_md: reordered into a new buffer by `convert`, or as made when convert is null.
Tensor weights_in_layout(const std::function<Tensor()>& make, const dnnl::memory::desc& user_md,
                         const dnnl::memory::desc& prim_md, const dnnl::reorder* convert) {
    if (!convert) return make();
    // A made weight is scratch once reordered: its block goes back to the system, not to a free
    // list no other request of its size would draw from.
    ReturnFreedBlocks scratch;
    const Tensor w = make();
    Tensor buffer = empty({static_cast<int64_t>((prim_md.get_size() + 3) / 4)}, DType::Float32);
    auto& eng = cpu_engine();
    dnnl::memory src(user_md, eng, w.raw_data()), dst(prim_md, eng, buffer.raw_data());
    convert->execute(cpu_stream(), src, dst);
    cpu_stream().wait();
    count_reorders();
    return buffer;
}

}  // namespace

Tensor prepared_weights(const Tensor& key, const std::function<Tensor()>& make,
                        const dnnl::memory::desc& user_md, const dnnl::memory::desc& prim_md,
                        const dnnl::reorder* convert) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    const uint64_t id = key.storage()->id(), version = key.storage()->version();
    if (c.by_storage.find(id) == c.by_storage.end()) c.drop_expired();  // a new weight: forget gone ones
    std::vector<Entry>& list = c.by_storage[id];
    for (Entry& e : list) {
        if (e.offset != key.offset() || e.md != prim_md) continue;
        if (e.version != version) {
            e.buffer = Tensor();  // the stale copy goes before the new one is made
            e.buffer = weights_in_layout(make, user_md, prim_md, convert);
            e.version = version;
            ++c.stats.reorders;
        } else {
            ++c.stats.hits;
        }
        return e.buffer;
    }
    Entry e{key.storage(), key.offset(), version, prim_md,
            weights_in_layout(make, user_md, prim_md, convert)};
    ++c.stats.reorders;
    ++c.stats.entries;
    list.push_back(std::move(e));
    return list.back().buffer;
}

Tensor prepared_weights(const Tensor& w, const dnnl::memory::desc& user_md,
                        const dnnl::memory::desc& prim_md, const dnnl::reorder& convert) {
    return prepared_weights(w, [&] { return w; }, user_md, prim_md, &convert);
}

void forget_weights(const Tensor& key) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.by_storage.find(key.storage()->id());
    if (it == c.by_storage.end()) return;
    c.stats.entries -= static_cast<int64_t>(it->second.size());
    c.by_storage.erase(it);
}

WeightCacheStats weight_cache_stats() {
    std::lock_guard<std::mutex> lock(cache().mutex);
    return cache().stats;
}

void clear_weight_cache() {
    std::lock_guard<std::mutex> lock(cache().mutex);
    cache().by_storage.clear();
    cache().stats.entries = 0;
}

}  // namespace cardinal::onednn
