// Float64 gradchecks of the elementwise ops: arithmetic (with broadcasting), math, activations.
// "non-contiguous" cases permute the leaf inside fn, so the op itself sees strided input.
#include "gradcheck_helpers.h"
#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/math.h"
#include "ops/shape_ops.h"

using namespace cardinal;
using namespace cardinal::test;
using Xs = std::vector<Tensor>;

TEST_CASE("gradcheck add with broadcasting and a permuted input", "[gradcheck]") {
    Tensor a = leaf_randn({2, 3, 4}, 1), b = leaf_randn({3, 1}, 2), c = leaf_randn({4, 3, 2}, 3);
    expect_gradcheck([](const Xs& x) { return add(x[0], x[1]); }, {a, b});
    expect_gradcheck([](const Xs& x) { return add(permute(x[1], {2, 1, 0}), x[0]); }, {a, c});
}

TEST_CASE("gradcheck sub with broadcasting and a permuted input", "[gradcheck]") {
    Tensor a = leaf_randn({2, 3, 4}, 4), b = leaf_randn({1, 4}, 5), c = leaf_randn({3, 2, 4}, 6);
    expect_gradcheck([](const Xs& x) { return sub(x[1], x[0]); }, {a, b});
    expect_gradcheck([](const Xs& x) { return sub(x[0], transpose(x[1], 0, 1)); }, {a, c});
}

TEST_CASE("gradcheck mul with broadcasting and a permuted input", "[gradcheck]") {
    Tensor a = leaf_randn({2, 3, 4}, 7), b = leaf_randn({2, 1, 4}, 8), c = leaf_randn({4, 2, 3}, 9);
    expect_gradcheck([](const Xs& x) { return mul(x[0], x[1]); }, {a, b});
    expect_gradcheck([](const Xs& x) { return mul(x[0], permute(x[1], {1, 2, 0})); }, {a, c});
}

TEST_CASE("gradcheck div with broadcasting and a permuted input", "[gradcheck]") {
    Tensor a = leaf_randn({2, 3, 4}, 10), b = leaf_uniform({3, 1}, 0.5, 2.0, 11);
    Tensor c = leaf_uniform({4, 3, 2}, 0.5, 2.0, 12);
    expect_gradcheck([](const Xs& x) { return div(x[0], x[1]); }, {a, b});
    expect_gradcheck([](const Xs& x) { return div(x[0], permute(x[1], {2, 1, 0})); }, {a, c});
}

TEST_CASE("gradcheck scalar add and mul", "[gradcheck]") {
    Tensor a = leaf_randn({3, 4}, 13);
    expect_gradcheck([](const Xs& x) { return add(x[0], 2.5); }, {a});
    expect_gradcheck([](const Xs& x) { return mul(transpose(x[0], 0, 1), -1.5); }, {a});
}

TEST_CASE("gradcheck neg", "[gradcheck]") {
    Tensor a = leaf_randn({3, 4}, 14);
    expect_gradcheck([](const Xs& x) { return neg(transpose(x[0], 0, 1)); }, {a});
}

TEST_CASE("gradcheck pow with integer, fractional and negative exponents", "[gradcheck]") {
    Tensor a = leaf_randn({3, 4}, 15), p = leaf_uniform({3, 4}, 0.5, 2.0, 16);
    expect_gradcheck([](const Xs& x) { return pow(x[0], 3.0); }, {a});
    expect_gradcheck([](const Xs& x) { return pow(transpose(x[0], 0, 1), 1.5); }, {p});
    expect_gradcheck([](const Xs& x) { return pow(x[0], -2.0); }, {p});
}

TEST_CASE("gradcheck exp", "[gradcheck]") {
    Tensor a = leaf_randn({3, 4}, 17);
    expect_gradcheck([](const Xs& x) { return exp(transpose(x[0], 0, 1)); }, {a});
}

TEST_CASE("gradcheck log", "[gradcheck]") {
    Tensor a = leaf_uniform({3, 4}, 0.5, 3.0, 18);
    expect_gradcheck([](const Xs& x) { return log(transpose(x[0], 0, 1)); }, {a});
}

TEST_CASE("gradcheck sqrt", "[gradcheck]") {
    Tensor a = leaf_uniform({3, 4}, 0.5, 3.0, 19);
    expect_gradcheck([](const Xs& x) { return sqrt(transpose(x[0], 0, 1)); }, {a});
}

TEST_CASE("gradcheck relu", "[gradcheck]") {
    Tensor a = leaf_randn({4, 5}, 20);
    expect_gradcheck([](const Xs& x) { return relu(transpose(x[0], 0, 1)); }, {a});
}

TEST_CASE("gradcheck sigmoid", "[gradcheck]") {
    Tensor a = leaf_randn({4, 5}, 21);
    expect_gradcheck([](const Xs& x) { return sigmoid(transpose(x[0], 0, 1)); }, {a});
}

TEST_CASE("gradcheck tanh", "[gradcheck]") {
    Tensor a = leaf_randn({4, 5}, 22);
    expect_gradcheck([](const Xs& x) { return tanh(transpose(x[0], 0, 1)); }, {a});
}

TEST_CASE("gradcheck softmax over each dim", "[gradcheck]") {
    Tensor a = leaf_randn({2, 3, 4}, 23);
    for (int64_t d : {0, 1, -1}) {
        INFO("dim " << d);
        expect_gradcheck([d](const Xs& x) { return softmax(x[0], d); }, {a});
    }
    expect_gradcheck([](const Xs& x) { return softmax(permute(x[0], {2, 0, 1}), 1); }, {a});
}

TEST_CASE("gradcheck log_softmax over each dim", "[gradcheck]") {
    Tensor a = leaf_randn({2, 3, 4}, 24);
    for (int64_t d : {0, 1, 2}) {
        INFO("dim " << d);
        expect_gradcheck([d](const Xs& x) { return log_softmax(x[0], d); }, {a});
    }
    expect_gradcheck([](const Xs& x) { return log_softmax(permute(x[0], {2, 0, 1}), -1); }, {a});
}
