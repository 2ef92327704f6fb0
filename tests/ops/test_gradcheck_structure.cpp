// Float64 gradchecks of reductions, shape ops, matmul/linear and losses.
#include "autograd/engine.h"
#include "gradcheck_helpers.h"
#include "ops/arithmetic.h"
#include "ops/linear.h"
#include "ops/loss.h"
#include "ops/reduction.h"
#include "ops/shape_ops.h"

using namespace cardinal;
using namespace cardinal::test;
using Xs = std::vector<Tensor>;

TEST_CASE("gradcheck sum over dims, keepdim and all", "[gradcheck]") {
    Tensor a = leaf_randn({2, 3, 4}, 31);
    expect_gradcheck([](const Xs& x) { return sum(x[0]); }, {a});
    expect_gradcheck([](const Xs& x) { return sum(x[0], {0, 2}); }, {a});
    expect_gradcheck([](const Xs& x) { return sum(x[0], {-1}, true); }, {a});
    expect_gradcheck([](const Xs& x) { return sum(permute(x[0], {2, 0, 1}), {1}); }, {a});
}

TEST_CASE("gradcheck mean over dims, keepdim and all", "[gradcheck]") {
    Tensor a = leaf_randn({2, 3, 4}, 32);
    expect_gradcheck([](const Xs& x) { return mean(x[0]); }, {a});
    expect_gradcheck([](const Xs& x) { return mean(x[0], {1}); }, {a});
    expect_gradcheck([](const Xs& x) { return mean(x[0], {0, 1}, true); }, {a});
    expect_gradcheck([](const Xs& x) { return mean(permute(x[0], {2, 0, 1}), {0}); }, {a});
}

TEST_CASE("gradcheck max over a dim", "[gradcheck]") {
    Tensor a = leaf_randn({3, 4, 5}, 33);
    for (int64_t d : {0, 1, 2}) {
        INFO("dim " << d);
        expect_gradcheck([d](const Xs& x) { return max(x[0], d); }, {a});
        expect_gradcheck([d](const Xs& x) { return max(x[0], d, true); }, {a});
    }
    expect_gradcheck([](const Xs& x) { return max(permute(x[0], {2, 0, 1}), 1); }, {a});
}

TEST_CASE("max sends the gradient to the first maximum only", "[ops]") {
    Tensor a = set_requires_grad(from_vector({1, 5, 5, 2, 7, 7}, {2, 3}, DType::Float64));
    Tensor y = max(a, 1);
    CHECK(y.to_vector() == std::vector<double>{5, 7});
    backward(sum(y));
    CHECK(grad(a).to_vector() == std::vector<double>{0, 1, 0, 0, 1, 0});
}

TEST_CASE("gradcheck reshape, view and flatten", "[gradcheck]") {
    Tensor a = leaf_randn({2, 3, 4}, 34);
    expect_gradcheck([](const Xs& x) { return reshape(x[0], {4, -1}); }, {a});
    expect_gradcheck([](const Xs& x) { return view(x[0], {6, 4}); }, {a});
    expect_gradcheck([](const Xs& x) { return flatten(x[0], 1); }, {a});
    // reshape of a permuted (non-viewable) input copies; its gradient must still route back.
    expect_gradcheck([](const Xs& x) { return reshape(permute(x[0], {2, 0, 1}), {8, 3}); }, {a});
}

TEST_CASE("gradcheck permute and transpose", "[gradcheck]") {
    Tensor a = leaf_randn({2, 3, 4}, 35);
    expect_gradcheck([](const Xs& x) { return permute(x[0], {1, 2, 0}); }, {a});
    expect_gradcheck([](const Xs& x) { return transpose(x[0], 0, 2); }, {a});
}

TEST_CASE("gradcheck narrow", "[gradcheck]") {
    Tensor a = leaf_randn({3, 5}, 36);
    expect_gradcheck([](const Xs& x) { return narrow(x[0], 1, 1, 3); }, {a});
    expect_gradcheck([](const Xs& x) { return narrow(transpose(x[0], 0, 1), 0, -2, 2); }, {a});
}

TEST_CASE("gradcheck split and chunk (multi-output, partial use)", "[gradcheck]") {
    Tensor a = leaf_randn({5, 3}, 37);
    expect_gradcheck_multi([](const Xs& x) { return split(x[0], 2, 0); }, {a});
    expect_gradcheck_multi([](const Xs& x) { return chunk(transpose(x[0], 0, 1), 2, 1); }, {a});
    // Only one piece used: the others' gradients arrive as zeros.
    expect_gradcheck([](const Xs& x) { return mul(split(x[0], 2, 0)[1], 3.0); }, {a});
}

TEST_CASE("split records one node for all pieces", "[ops]") {
    Tensor a = leaf_randn({6, 2}, 38);
    std::vector<Tensor> parts = chunk(a, 3, 0);
    REQUIRE(parts.size() == 3);
    CHECK(grad_fn(parts[0]) == grad_fn(parts[2]));
    CHECK(grad_fn(parts[0])->output_meta.size() == 3);
    CHECK(parts[1].storage() == a.storage());
}

TEST_CASE("gradcheck expand", "[gradcheck]") {
    Tensor a = leaf_randn({3, 1}, 39);
    expect_gradcheck([](const Xs& x) { return expand(x[0], {2, 3, 4}); }, {a});
    expect_gradcheck([](const Xs& x) { return expand(x[0], {-1, 5}); }, {a});
}

TEST_CASE("gradcheck squeeze and unsqueeze", "[gradcheck]") {
    Tensor a = leaf_randn({3, 1, 2}, 40);
    expect_gradcheck([](const Xs& x) { return squeeze(x[0], 1); }, {a});
    expect_gradcheck([](const Xs& x) { return unsqueeze(x[0], 0); }, {a});
    expect_gradcheck([](const Xs& x) { return unsqueeze(permute(x[0], {2, 1, 0}), -1); }, {a});
}

TEST_CASE("gradcheck cat", "[gradcheck]") {
    Tensor a = leaf_randn({2, 3}, 41), b = leaf_randn({2, 2}, 42), c = leaf_randn({3, 2}, 43);
    expect_gradcheck(
        [](const Xs& x) {
            return cat({x[0], x[1], transpose(x[2], 0, 1)}, 1);
        },
        {a, b, c});
    expect_gradcheck([](const Xs& x) { return cat({x[0], x[0]}, 0); }, {a});
}

TEST_CASE("gradcheck stack", "[gradcheck]") {
    Tensor a = leaf_randn({2, 3}, 44), b = leaf_randn({2, 3}, 45), c = leaf_randn({3, 2}, 46);
    for (int64_t d : {0, 1, 2}) {
        INFO("dim " << d);
        expect_gradcheck(
            [d](const Xs& x) {
                return stack({x[0], x[1], transpose(x[2], 0, 1)}, d);
            },
            {a, b, c});
    }
}

TEST_CASE("gradcheck contiguous", "[gradcheck]") {
    Tensor a = leaf_randn({3, 4}, 47);
    expect_gradcheck([](const Xs& x) { return contiguous(transpose(x[0], 0, 1)); }, {a});
    Tensor c = contiguous(a);
    CHECK(c.is_same(a));  // already contiguous: no copy, no node
}

TEST_CASE("gradcheck matmul 2-D, batched and broadcast batch", "[gradcheck]") {
    Tensor a = leaf_randn({3, 4}, 48), b = leaf_randn({4, 2}, 49);
    Tensor ba = leaf_randn({2, 3, 4}, 50), bb = leaf_randn({2, 4, 5}, 51);
    expect_gradcheck([](const Xs& x) { return matmul(x[0], x[1]); }, {a, b});
    expect_gradcheck([](const Xs& x) { return matmul(x[0], x[1]); }, {ba, bb});
    expect_gradcheck([](const Xs& x) { return matmul(x[0], x[1]); }, {ba, b});  // b broadcast
    expect_gradcheck([](const Xs& x) { return matmul(x[0], x[1]); }, {a, bb});  // a broadcast
    expect_gradcheck(
        [](const Xs& x) { return matmul(transpose(x[1], 0, 1), transpose(x[0], 0, 1)); }, {a, b});
}

TEST_CASE("gradcheck linear with and without bias", "[gradcheck]") {
    Tensor x = leaf_randn({4, 3}, 52), w = leaf_randn({5, 3}, 53), b = leaf_randn({5}, 54);
    Tensor x3 = leaf_randn({2, 2, 3}, 55);
    expect_gradcheck([](const Xs& v) { return linear(v[0], v[1], v[2]); }, {x, w, b});
    expect_gradcheck([](const Xs& v) { return linear(v[0], v[1]); }, {x, w});
    expect_gradcheck([](const Xs& v) { return linear(v[0], v[1], v[2]); }, {x3, w, b});
    expect_gradcheck([](const Xs& v) { return linear(transpose(v[0], 0, 1), v[1], v[2]); },
                     {leaf_randn({3, 4}, 56), w, b});
}

TEST_CASE("gradcheck cross_entropy: reductions and label smoothing", "[gradcheck]") {
    Tensor logits = leaf_randn({4, 5}, 57);
    Tensor t = from_vector_i64({0, 3, 4, 3}, {4});
    for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
        for (double ls : {0.0, 0.1}) {
            INFO("reduction " << static_cast<int>(r) << " ls " << ls);
            expect_gradcheck([&](const Xs& x) { return cross_entropy(x[0], t, r, ls); }, {logits});
        }
    expect_gradcheck([&](const Xs& x) { return cross_entropy(transpose(x[0], 0, 1), t); },
                     {leaf_randn({5, 4}, 58)});
}

TEST_CASE("gradcheck mse_loss: reductions, both inputs", "[gradcheck]") {
    Tensor a = leaf_randn({3, 4}, 59), b = leaf_randn({3, 4}, 60);
    for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
        INFO("reduction " << static_cast<int>(r));
        expect_gradcheck([r](const Xs& x) { return mse_loss(x[0], x[1], r); }, {a, b});
    }
    expect_gradcheck(
        [](const Xs& x) { return mse_loss(transpose(x[0], 0, 1), transpose(x[1], 0, 1)); }, {a, b});
}
