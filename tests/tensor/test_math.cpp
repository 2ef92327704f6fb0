// Broadcasting, reductions, indexing and RNG of the plain tensor layer.
#include <catch2/catch.hpp>

#include "tensor/kernels.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

using namespace cardinal;
using Catch::Contains;

TEST_CASE("broadcasting follows NumPy rules", "[tensor][broadcast]") {
    CHECK(broadcast_shapes({2, 1, 4}, {3, 1}, "t") == Shape{2, 3, 4});
    CHECK(broadcast_shapes({}, {2, 2}, "t") == Shape{2, 2});
    CHECK(broadcast_shapes({5, 0}, {1}, "t") == Shape{5, 0});
    Tensor col = from_vector({1, 2}, {2, 1}, DType::Float64);
    Tensor row = from_vector({10, 20, 30}, {3}, DType::Float64);
    CHECK(kernels::add(col, row).to_vector() == std::vector<double>{11, 21, 31, 12, 22, 32});
    CHECK(kernels::mul(col, scalar_tensor(2.0, DType::Float64)).to_vector() ==
          std::vector<double>{2, 4});
    // Broadcasting over a permuted (strided) operand.
    Tensor m = from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::Float64).transpose(0, 1);  // [3, 2]
    CHECK(kernels::sub(m, from_vector({1, 2}, {2}, DType::Float64)).to_vector() ==
          std::vector<double>{0, 2, 1, 3, 2, 4});
}

TEST_CASE("broadcast errors name the op, both shapes and the dim", "[tensor][broadcast][errors]") {
    CHECK_THROWS_AS(broadcast_shapes({2, 3}, {3, 2}, "mul"), ShapeError);
    CHECK_THROWS_WITH(
        broadcast_shapes({2, 3}, {3, 2}, "mul"),
        Contains("mul") && Contains("[2, 3]") && Contains("[3, 2]") && Contains("dim 0"));
    CHECK_THROWS_WITH(kernels::sub(zeros({4}), zeros({3})), Contains("sub") && Contains("[4]"));
    CHECK_THROWS_AS(kernels::sum_to(zeros({2, 3}), {4}), ShapeError);
}

TEST_CASE("reductions against hand values, with keepdim", "[tensor][reduce]") {
    // [[1, 2, 3], [4, 5, 6]]
    Tensor a = from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::Float64);
    CHECK(kernels::sum(a).item() == 21);
    CHECK(kernels::sum(a, {0}).to_vector() == std::vector<double>{5, 7, 9});
    CHECK(kernels::sum(a, {1}, true).shape() == Shape{2, 1});
    CHECK(kernels::sum(a, {-1}, true).to_vector() == std::vector<double>{6, 15});
    CHECK(kernels::mean(a).item() == 3.5);
    CHECK(kernels::mean(a, {0}, true).shape() == Shape{1, 3});
    CHECK(kernels::mean(a, {0}, true).to_vector() == std::vector<double>{2.5, 3.5, 4.5});
    // var (unbiased) of each row [1,2,3] and [4,5,6] is 1; of each column pair is 4.5
    CHECK(kernels::var(a, {1}).to_vector() == std::vector<double>{1, 1});
    CHECK(kernels::var(a, {0}, true).to_vector() == std::vector<double>{4.5, 4.5, 4.5});
    CHECK(kernels::var(a, {}, false, 0).item() == Approx(35.0 / 12.0));
    Tensor b = from_vector({3, 9, 9, 7, -1, 2}, {2, 3}, DType::Float64);
    auto [v, i] = kernels::max(b, 1, true);
    CHECK(v.shape() == Shape{2, 1});
    CHECK(v.to_vector() == std::vector<double>{9, 7});
    CHECK(i.dtype() == DType::Int64);
    CHECK(i.to_vector() == std::vector<double>{1, 0});  // first max wins
    auto [v0, i0] = kernels::max(b, 0);
    CHECK(v0.to_vector() == std::vector<double>{7, 9, 9});
    CHECK(i0.to_vector() == std::vector<double>{1, 0, 0});
    CHECK(kernels::max_all(b).item() == 9);
    // Reducing a permuted view gives the same numbers as its contiguous copy.
    Tensor p = a.transpose(0, 1);
    CHECK(kernels::sum(p, {1}).to_vector() == std::vector<double>{5, 7, 9});
    CHECK(kernels::sum_to(a, {1, 3}).to_vector() == std::vector<double>{5, 7, 9});
}

TEST_CASE("gather and scatter_add along a dim", "[tensor][index]") {
    Tensor a = from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::Float64);
    Tensor idx = from_vector_i64({2, 0}, {2, 1});
    CHECK(kernels::gather(a, 1, idx).to_vector() == std::vector<double>{3, 4});
    Tensor idx0 = from_vector_i64({1, 0, 1}, {1, 3});
    CHECK(kernels::gather(a, 0, idx0).to_vector() == std::vector<double>{4, 2, 6});
    Tensor s = kernels::scatter_add({2, 3}, 1, from_vector_i64({1, 1, 0, 2}, {2, 2}),
                                    from_vector({1, 2, 3, 4}, {2, 2}, DType::Float64));
    CHECK(s.to_vector() == std::vector<double>{0, 3, 0, 3, 0, 4});  // repeated index adds
    CHECK_THROWS_AS(kernels::gather(a, 1, from_vector_i64({3, 0}, {2, 1})), IndexError);
    CHECK_THROWS_AS(kernels::gather(a, 1, from_vector_i64({0, 0, 0}, {3, 1})), ShapeError);
    CHECK_THROWS_AS(kernels::gather(a, 1, zeros({2, 1})), DTypeError);
}

TEST_CASE("RNG: same seed gives the same numbers, different seeds differ", "[tensor][random]") {
    Generator g1(42), g2(42), g3(43);
    Tensor a = randn({1000}, DType::Float64, &g1), b = randn({1000}, DType::Float64, &g2);
    Tensor c = randn({1000}, DType::Float64, &g3);
    CHECK(a.to_vector() == b.to_vector());
    CHECK(a.to_vector() != c.to_vector());
    // The next draw continues the stream, and it is reproducible too.
    CHECK(rand({10}, DType::Float64, &g1).to_vector() ==
          rand({10}, DType::Float64, &g2).to_vector());
    CHECK(randperm(20, &g1).to_vector() == randperm(20, &g2).to_vector());
    // Sample statistics are sane.
    CHECK(kernels::mean(a).item() == Approx(0.0).margin(0.1));
    CHECK(kernels::var(a).item() == Approx(1.0).margin(0.1));
    Tensor r = randint(3, 7, {500}, &g1);
    CHECK(kernels::max_all(r).item() <= 6);
    CHECK(kernels::max_all(kernels::neg(r.to(DType::Float64))).item() <= -3);
}

TEST_CASE("RNG: same numbers with 1 and 2 threads", "[tensor][random]") {
    const int before = get_num_threads();
    const Shape big{3 * kParallelGrain};  // large enough for the parallel path
    set_num_threads(1);
    Generator g1(7);
    std::vector<double> one = randn(big, DType::Float32, &g1).to_vector();
    std::vector<double> one_u = bernoulli(big, 0.3, DType::Float64, &g1).to_vector();
    set_num_threads(2);
    Generator g2(7);
    std::vector<double> two = randn(big, DType::Float32, &g2).to_vector();
    std::vector<double> two_u = bernoulli(big, 0.3, DType::Float64, &g2).to_vector();
    set_num_threads(before);
    CHECK(one == two);
    CHECK(one_u == two_u);
}

TEST_CASE("sum over any dims of contiguous and strided tensors matches a plain loop",
          "[reduce]") {
    // sum() takes a run-wise path when the last merged dim is contiguous; every dim subset of a
    // 4-d tensor, and of a permuted view, must give the same sums as an element-wise loop.
    Generator gen(12);
    Tensor base = randn({3, 4, 5, 6}, DType::Float32, &gen);
    for (const Tensor& a : {base, base.permute({0, 2, 1, 3}), base.permute({3, 1, 2, 0}),
                            base.narrow(3, 1, 4)}) {
        const std::vector<double> v = a.contiguous().to_vector();
        const Shape sh = a.shape();
        for (int mask = 1; mask < 16; ++mask) {
            std::vector<int64_t> dims;
            for (int d = 0; d < 4; ++d)
                if (mask & (1 << d)) dims.push_back(d);
            Tensor s = kernels::sum(a, dims, true);
            std::vector<double> expect(static_cast<size_t>(s.numel()), 0.0);
            int64_t i = 0;
            for (int64_t i0 = 0; i0 < sh[0]; ++i0)
                for (int64_t i1 = 0; i1 < sh[1]; ++i1)
                    for (int64_t i2 = 0; i2 < sh[2]; ++i2)
                        for (int64_t i3 = 0; i3 < sh[3]; ++i3, ++i) {
                            const int64_t idx[4] = {i0, i1, i2, i3};
                            int64_t o = 0;
                            for (int d = 0; d < 4; ++d)
                                o = o * s.shape()[d] + ((mask & (1 << d)) ? 0 : idx[d]);
                            expect[static_cast<size_t>(o)] += v[static_cast<size_t>(i)];
                        }
            const std::vector<double> got = s.to_vector();
            INFO("mask " << mask);
            for (size_t k = 0; k < got.size(); ++k) CHECK(got[k] == Approx(expect[k]).margin(1e-5));
        }
    }
}

TEST_CASE("matmul reads transposed operands in place and matches contiguous copies", "[math][matmul]") {
    Generator gen(17);
    // [B, M, K] x [B, K, N], with each operand given either as itself or as the transpose of its
    // transpose (a column-major view), batched, broadcast and 2-D.
    struct Case { int64_t Ba, Bb, M, K, N; };
    for (const Case& c : {Case{1, 1, 5, 7, 3}, Case{3, 3, 4, 6, 5}, Case{1, 4, 2, 3, 6}, Case{2, 1, 1, 9, 1}}) {
        for (DType dt : {DType::Float64, DType::Float32}) {
            const Tensor a = randn({c.Ba, c.M, c.K}, dt, &gen), b = randn({c.Bb, c.K, c.N}, dt, &gen);
            const Tensor a_col = a.transpose(1, 2).contiguous().transpose(1, 2);
            const Tensor b_col = b.transpose(1, 2).contiguous().transpose(1, 2);
            REQUIRE((c.M == 1 || c.K == 1 || !a_col.is_contiguous()));
            const Tensor ref = kernels::matmul(a, b);
            const double tol = dt == DType::Float64 ? 1e-12 : 1e-5;
            INFO("Ba " << c.Ba << " Bb " << c.Bb << " M " << c.M << " K " << c.K << " N " << c.N);
            CHECK(max_abs_diff(kernels::matmul(a_col, b), ref) < tol);
            CHECK(max_abs_diff(kernels::matmul(a, b_col), ref) < tol);
            CHECK(max_abs_diff(kernels::matmul(a_col, b_col), ref) < tol);
            if (c.Ba == 1 && c.Bb == 1) {
                const Tensor ref2 = kernels::matmul(a.squeeze(0), b.squeeze(0));
                CHECK(max_abs_diff(kernels::matmul(a_col.squeeze(0), b_col.squeeze(0)), ref2) < tol);
            }
            // A strided view that is neither order is copied, not misread.
            const Tensor wide = randn({c.Ba, c.M, 2 * c.K}, dt, &gen);
            const Tensor a_strided = wide.narrow(2, 0, c.K);
            CHECK(max_abs_diff(kernels::matmul(a_strided, b), kernels::matmul(a_strided.contiguous(), b)) < tol);
        }
    }
}
