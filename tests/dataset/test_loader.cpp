// DataLoader determinism (seed, epoch, prefetch), batching, and the per-image transforms.
#include <catch2/catch.hpp>
#include <set>

#include "data/loader.h"

using namespace cardinal;

namespace {

// n images of C x H x W whose pixels encode (image, position) so any mix-up shows; label i % 10.
std::shared_ptr<ImageDataset> synthetic(int64_t n, int64_t c = 1, int64_t h = 6, int64_t w = 5) {
    auto ds = std::make_shared<ImageDataset>();
    ds->channels = c;
    ds->height = h;
    ds->width = w;
    ds->num_classes = 10;
    ds->pixels.resize(n * c * h * w);
    for (size_t i = 0; i < ds->pixels.size(); ++i)
        ds->pixels[i] = static_cast<uint8_t>((i * 37 + i / (c * h * w)) % 256);
    std::vector<int64_t> labels(n);
    for (int64_t i = 0; i < n; ++i) labels[i] = i % 10;
    ds->labels = from_vector_i64(labels, {n});
    return ds;
}

std::vector<Batch> epoch_batches(DataLoader& loader, int64_t epoch) {
    loader.start_epoch(epoch);
    std::vector<Batch> out;
    Batch b;
    while (loader.next(b)) out.push_back(b);
    return out;
}

bool same(const Batch& a, const Batch& b) {
    return a.images.shape() == b.images.shape() && max_abs_diff(a.images, b.images) == 0.0 &&
           a.labels.to_vector() == b.labels.to_vector();
}

LoaderOptions augmenting(uint64_t seed, bool prefetch) {
    LoaderOptions o;
    o.batch_size = 8;
    o.seed = seed;
    o.prefetch = prefetch;
    o.transforms.random_crop = true;
    o.transforms.crop_padding = 2;
    o.transforms.hflip_p = 0.5;
    o.transforms.mean = {0.3};
    o.transforms.std = {0.4};
    o.transforms.erase_p = 0.5;
    return o;
}

}  // namespace

TEST_CASE("loader: same seed gives the same batches, with and without prefetch", "[data][threads]") {
    auto ds = synthetic(50);
    DataLoader a(ds, augmenting(5, true)), b(ds, augmenting(5, false)), c(ds, augmenting(5, true));
    for (int64_t epoch : {0, 1, 3}) {
        auto ea = epoch_batches(a, epoch), eb = epoch_batches(b, epoch),
             ec = epoch_batches(c, epoch);
        REQUIRE(ea.size() == 7);
        REQUIRE(eb.size() == 7);
        for (size_t i = 0; i < ea.size(); ++i) {
            CHECK(same(ea[i], eb[i]));
            CHECK(same(ea[i], ec[i]));
            CHECK(same(ea[i], a.make_batch(epoch, static_cast<int64_t>(i))));
            CHECK(ea[i].epoch == epoch);
            CHECK(ea[i].index == static_cast<int64_t>(i));
        }
    }
    // Different epochs and different seeds give different orders.
    DataLoader d(ds, augmenting(6, true));
    CHECK(a.permutation(0) != a.permutation(1));
    CHECK(a.permutation(0) != d.permutation(0));
    CHECK_FALSE(same(a.make_batch(0, 0), d.make_batch(0, 0)));
}

TEST_CASE("loader: an epoch visits every sample once; resume mid-epoch", "[data][threads]") {
    auto ds = synthetic(23);
    LoaderOptions o = augmenting(1, true);
    o.batch_size = 5;
    DataLoader loader(ds, o);
    CHECK(loader.num_batches() == 5);
    auto batches = epoch_batches(loader, 2);
    REQUIRE(batches.size() == 5);
    CHECK(batches.back().labels.numel() == 3);  // 23 = 4*5 + 3
    std::multiset<int64_t> seen;
    for (int64_t i : loader.permutation(2)) seen.insert(i);
    CHECK(seen.size() == 23);
    CHECK(std::set<int64_t>(seen.begin(), seen.end()).size() == 23);
    std::vector<double> labels;
    for (auto& b : batches)
        for (double l : b.labels.to_vector()) labels.push_back(l);
    std::vector<int64_t> perm = loader.permutation(2);
    for (size_t j = 0; j < labels.size(); ++j) CHECK(labels[j] == perm[j] % 10);

    // Resume at (epoch 2, batch 3): the same batches 3 and 4.
    DataLoader resumed(ds, o);
    resumed.start_epoch(2, 3);
    Batch b;
    REQUIRE(resumed.next(b));
    CHECK(same(b, batches[3]));
    REQUIRE(resumed.next(b));
    CHECK(same(b, batches[4]));
    CHECK_FALSE(resumed.next(b));
    // Breaking off an epoch with a prefetch in flight and starting another is fine.
    resumed.start_epoch(0);
    REQUIRE(resumed.next(b));
    resumed.start_epoch(2, 4);
    REQUIRE(resumed.next(b));
    CHECK(same(b, batches[4]));
}

TEST_CASE("loader: drop_last, limit and no shuffle", "[data]") {
    auto ds = synthetic(23);
    LoaderOptions o;
    o.batch_size = 5;
    o.drop_last = true;
    o.shuffle = false;
    DataLoader loader(ds, o);
    CHECK(loader.num_batches() == 4);
    auto batches = epoch_batches(loader, 0);
    REQUIRE(batches.size() == 4);
    for (auto& b : batches) CHECK(b.images.shape() == Shape{5, 1, 6, 5});
    CHECK(batches[1].labels.to_vector() == std::vector<double>{5, 6, 7, 8, 9});
    // No transforms: pixel/255.
    CHECK(batches[0].images.at({2, 0, 1, 3}) ==
          Approx(ds->image(2)[1 * 5 + 3] / 255.0).epsilon(1e-6));

    o.limit = 12;
    o.shuffle = true;
    DataLoader limited(ds, o);
    CHECK(limited.size() == 12);
    CHECK(limited.num_batches() == 2);
    for (int64_t i : limited.permutation(4)) CHECK(i < 12);

    o.limit = 3;
    CHECK_THROWS_AS(DataLoader(ds, o), ValueError);  // 3 samples, batch 5, drop_last: no batch
    o.limit = 0;
    o.batch_size = 0;
    CHECK_THROWS_AS(DataLoader(ds, o), ValueError);
    o.batch_size = 4;
    o.transforms.hflip_p = 1.5;
    CHECK_THROWS_AS(DataLoader(ds, o), ValueError);
}

TEST_CASE("transforms: flip is exact, normalize per channel", "[data]") {
    const int64_t c = 2, h = 3, w = 4;
    std::vector<uint8_t> src(c * h * w);
    for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(10 * i);
    TransformOptions o;
    o.hflip_p = 1.0;
    o.mean = {0.5, 0.25};
    o.std = {0.5, 2.0};
    std::vector<float> out(src.size());
    Generator gen(3);
    transform_image(src.data(), c, h, w, o, gen, 0, out.data());
    for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x) {
                double v = src[(ch * h + y) * w + (w - 1 - x)] / 255.0;
                double want = (v - o.mean[ch]) / o.std[ch];
                CHECK(out[(ch * h + y) * w + x] == Approx(want).epsilon(1e-6));
            }
    o.hflip_p = 0.0;
    transform_image(src.data(), c, h, w, o, gen, 0, out.data());
    CHECK(out[1] == Approx((10 / 255.0 - 0.5) / 0.5).epsilon(1e-6));  // unflipped
}

TEST_CASE("transforms: crop with padding", "[data]") {
    const int64_t h = 4, w = 5;
    std::vector<uint8_t> src(h * w);
    for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i + 1);
    std::vector<float> out(h * w);
    // Window at (0, 3) of the image padded by 2: shifted up-left by (2, -1).
    crop_with_padding(src.data(), 1, h, w, 2, 0, 3, 99.0, out.data());
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
            int64_t sy = y - 2, sx = x + 1;
            double want = (sy >= 0 && sx < w) ? src[sy * w + sx] : 99.0;
            CHECK(out[y * w + x] == want);
        }
    // Random crops: every output is the padded image shifted by an offset within [-pad, pad],
    // and over many counters every offset appears.
    TransformOptions o;
    o.random_crop = true;
    o.crop_padding = 1;
    o.pad_value = 255;
    o.mean = {0.0};
    o.std = {1.0 / 255.0};  // normalization becomes the identity on raw values
    Generator gen(9);
    std::set<std::pair<int64_t, int64_t>> offsets;
    for (uint64_t k = 0; k < 200; ++k) {
        transform_image(src.data(), 1, h, w, o, gen, k * kTransformCounters, out.data());
        bool found = false;
        for (int64_t top = 0; top <= 2 && !found; ++top)
            for (int64_t left = 0; left <= 2 && !found; ++left) {
                std::vector<float> want(h * w);
                crop_with_padding(src.data(), 1, h, w, 1, top, left, 255.0, want.data());
                bool eq = true;
                for (int64_t i = 0; i < h * w; ++i) eq = eq && std::abs(want[i] - out[i]) < 1e-3;
                if (eq) {
                    found = true;
                    offsets.insert({top, left});
                }
            }
        CHECK(found);
    }
    CHECK(offsets.size() == 9);
}

TEST_CASE("transforms: random erasing fills one rectangle", "[data]") {
    const int64_t h = 16, w = 16;
    std::vector<uint8_t> src(h * w, 200);
    std::vector<float> out(h * w);
    TransformOptions o;
    o.erase_p = 1.0;
    o.erase_value = -7.0;
    Generator gen(4);
    int erased_images = 0;
    for (uint64_t k = 0; k < 50; ++k) {
        transform_image(src.data(), 1, h, w, o, gen, k * kTransformCounters, out.data());
        int64_t y0 = h, y1 = -1, x0 = w, x1 = -1, count = 0;
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x) {
                float v = out[y * w + x];
                if (v == -7.0f) {
                    ++count;
                    y0 = std::min(y0, y), y1 = std::max(y1, y);
                    x0 = std::min(x0, x), x1 = std::max(x1, x);
                } else {
                    CHECK(v == Approx(200 / 255.0));
                }
            }
        if (count == 0) continue;
        ++erased_images;
        CHECK(count == (y1 - y0 + 1) * (x1 - x0 + 1));  // a filled rectangle
        double frac = static_cast<double>(count) / (h * w);
        CHECK(frac >= 0.01);  // scale (0.02, 0.33) up to rounding of the sides
        CHECK(frac <= 0.45);
    }
    CHECK(erased_images >= 45);  // p = 1: only when all 10 attempts miss is nothing erased
}

TEST_CASE("DataLoader shards: the parts of every batch are exactly the unsharded batch", "[loader]") {
    // 21 samples in batches of 8: 8, 8, 5; over 3 shards 3/3/2 and, for the last, 2/2/1.
    auto ds = synthetic(21);
    LoaderOptions whole = augmenting(4, false);
    DataLoader reference(ds, whole);
    const std::vector<Batch> want = epoch_batches(reference, 1);
    for (int64_t shards : {1, 2, 3}) {
        std::vector<std::vector<Batch>> parts;
        for (int64_t s = 0; s < shards; ++s) {
            LoaderOptions o = whole;
            o.shard = s;
            o.shards = shards;
            o.prefetch = s % 2 == 0;
            DataLoader loader(ds, o);
            CHECK(loader.num_batches() == reference.num_batches());
            parts.push_back(epoch_batches(loader, 1));
        }
        for (size_t b = 0; b < want.size(); ++b) {
            INFO("shards " << shards << " batch " << b);
            int64_t begin = 0;
            for (int64_t s = 0; s < shards; ++s) {
                const Batch& p = parts[s][b];
                const ShardRange r = shard_range(want[b].labels.numel(), s, shards);
                CHECK(r.begin == begin);
                CHECK(p.global_size == want[b].labels.numel());
                CHECK(p.images.size(0) == r.size());
                CHECK(max_abs_diff(p.images, want[b].images.narrow(0, r.begin, r.size())) == 0.0);
                CHECK(p.labels.to_vector() == want[b].labels.narrow(0, r.begin, r.size()).to_vector());
                begin = r.end;
            }
            CHECK(begin == want[b].labels.numel());
        }
    }
    LoaderOptions bad = whole;
    bad.shard = 3;
    bad.shards = 3;
    CHECK_THROWS_WITH(DataLoader(ds, bad), Catch::Contains("expected shard in [0, shards), got shard 3 of 3"));
}
