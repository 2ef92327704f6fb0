// Views share storage and never copy; reshape copies only when it must.
#include <catch2/catch.hpp>

#include "tensor/kernels.h"
#include "tensor/tensor.h"

using namespace cardinal;

namespace {
Tensor iota(const Shape& s) {
    return arange(0.0, static_cast<double>(shape_numel(s)), 1.0, DType::Float32).view(s);
}
}  // namespace

TEST_CASE("views share storage and set strides, never copy", "[tensor][views]") {
    Tensor a = iota({2, 3, 4});
    CHECK(a.strides() == Shape{12, 4, 1});

    Tensor p = a.permute({2, 0, 1});
    CHECK(p.storage() == a.storage());
    CHECK(p.shape() == Shape{4, 2, 3});
    CHECK(p.strides() == Shape{1, 12, 4});
    CHECK_FALSE(p.is_contiguous());
    CHECK(p.at({3, 1, 2}) == a.at({1, 2, 3}));

    Tensor n = a.narrow(2, 1, 2);
    CHECK(n.storage() == a.storage());
    CHECK(n.offset() == 1);
    CHECK(n.strides() == Shape{12, 4, 1});

    Tensor s = a.select(1, 2);
    CHECK(s.storage() == a.storage());
    CHECK(s.shape() == Shape{2, 4});
    CHECK(s.offset() == 8);

    Tensor e = iota({3, 1}).expand({2, 3, 5});
    CHECK(e.strides() == Shape{0, 1, 0});

    Tensor v = a.view({6, 4});
    CHECK(v.storage() == a.storage());
    CHECK(v.strides() == Shape{4, 1});

    Tensor u = a.unsqueeze(1);
    CHECK(u.storage() == a.storage());
    CHECK(u.shape() == Shape{2, 1, 3, 4});
    CHECK(u.squeeze(1).shape() == a.shape());

    std::vector<Tensor> parts = a.chunk(2, 2);
    REQUIRE(parts.size() == 2);
    CHECK(parts[1].storage() == a.storage());
    CHECK(parts[1].offset() == 2);

    // Writing through a view changes the base: the memory really is shared.
    p.narrow(0, 0, 1).fill_(-1.0);
    CHECK(a.at({1, 2, 0}) == -1.0);
    CHECK(a.at({1, 2, 1}) == 21.0);
    // A sliced step view.
    Tensor st = a.slice(2, 0, 4, 2);
    CHECK(st.strides() == Shape{12, 4, 2});
    CHECK(st.storage() == a.storage());
}

TEST_CASE("reshape of a non-contiguous tensor copies; of a contiguous one views",
          "[tensor][views]") {
    Tensor a = iota({2, 3});
    Tensor r = a.reshape({3, 2});
    CHECK(r.storage() == a.storage());
    Tensor t = a.transpose(0, 1);  // [3, 2], strides [1, 3]
    Tensor c = t.reshape({6});
    CHECK(c.storage() != a.storage());
    CHECK(c.to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});
    CHECK_THROWS_AS(t.view({6}), ShapeError);
    // Some non-contiguous layouts can still be viewed: splitting a dim of a permuted tensor.
    Tensor split_view = t.view({3, 2, 1});
    CHECK(split_view.storage() == a.storage());
    CHECK(t.contiguous().is_contiguous());
    CHECK(a.contiguous().is_same(a));
    Tensor cl = a.clone();
    CHECK(cl.storage() != a.storage());
    CHECK(cl.to_vector() == a.to_vector());
}

TEST_CASE("flatten, -1 inference and dtype conversion", "[tensor][views]") {
    Tensor a = iota({2, 3, 4});
    CHECK(a.flatten(1).shape() == Shape{2, 12});
    CHECK(a.view({-1, 4}).shape() == Shape{6, 4});
    CHECK_THROWS_AS(a.view({-1, -1}), ShapeError);
    CHECK_THROWS_AS(a.view({5, -1}), ShapeError);
    Tensor d = a.to(DType::Float64);
    CHECK(d.dtype() == DType::Float64);
    CHECK(d.to_vector() == a.to_vector());
    CHECK(a.to(DType::Float32).is_same(a));
}

TEST_CASE("printing shows dtype, shape and values, eliding long dims", "[tensor][print]") {
    Tensor a = from_vector({1, 2.5, -3, 4, 5, 6}, {2, 3});
    std::string s = a.str();
    CHECK(s.find("tensor(float32 [2, 3])") == 0);
    CHECK_THAT(s, Catch::Contains("[[1, 2.5, -3],\n [4, 5, 6]]"));
    std::string l = arange(0.0, 100.0, 1.0, DType::Float64).str();
    CHECK_THAT(l, Catch::Contains("float64 [100]") && Catch::Contains("5, ..., 94"));
    CHECK(describe(Tensor()) == "undefined");
    CHECK(scalar_tensor(3.0).str() == "tensor(float32 []) 3");
}

TEST_CASE("allclose and max_abs_diff", "[tensor]") {
    Tensor a = from_vector({1.0, 2.0, 3.0}, {3}, DType::Float64);
    Tensor b = from_vector({1.0, 2.0 + 1e-9, 3.0}, {3}, DType::Float64);
    Tensor c = from_vector({1.0, 2.1, 3.0}, {3}, DType::Float32);
    CHECK(allclose(a, b));
    CHECK_FALSE(allclose(a, c));
    CHECK(allclose(a, c, 0.0, 0.11));          // dtypes may differ
    CHECK_FALSE(allclose(a, a.view({3, 1})));  // shapes must match
    CHECK(max_abs_diff(a, c) == Approx(0.1).epsilon(1e-5));
    CHECK_THROWS_AS(max_abs_diff(a, a.view({1, 3})), ShapeError);
    Tensor nan = from_vector({std::nan(""), 2, 3}, {3}, DType::Float64);
    CHECK_FALSE(allclose(nan, a));
}

TEST_CASE("writing into a self-overlapping view is refused with a clear error", "[views][overlap]") {
    // An expanded view maps many elements to one address: threads would race on it and a sum
    // like add_ would come out wrong. PyTorch refuses the same.
    Tensor row = cardinal::zeros({1, 4}, DType::Float32);
    Tensor wide = row.expand({100000, 4});  // big enough to be split over threads
    Tensor ones_big = cardinal::ones({100000, 4}, DType::Float32);
    CHECK_THROWS_WITH(wide.copy_(ones_big), Catch::Contains("overlap in memory") &&
                                                Catch::Contains("[100000, 4]"));
    CHECK_THROWS_AS(wide.fill_(1.0), ValueError);
    CHECK_THROWS_AS(cardinal::kernels::add_(wide, ones_big), ValueError);
    CHECK(row.to_vector() == std::vector<double>{0, 0, 0, 0});  // nothing was written
    // Views that do not overlap stay writable: a transpose, a strided slice, a narrow.
    Tensor m = cardinal::zeros({4, 6}, DType::Float32);
    m.transpose(0, 1).fill_(1.0);
    m.narrow(1, 2, 3).fill_(2.0);
    CHECK(m.to_vector()[2] == 2.0);
    // Reading from an expanded view is fine.
    Tensor copy = cardinal::empty({100000, 4}, DType::Float32);
    copy.copy_(wide);
    CHECK(copy.to_vector()[4 * 99999] == 0.0);
}
