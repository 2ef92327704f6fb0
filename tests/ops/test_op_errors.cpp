// Bad input throws the right cardinal::Error subclass, and the message names the op and the
// shapes involved.
#include <catch2/catch.hpp>

#include "ops/activation.h"
#include "ops/arithmetic.h"
#include "ops/linear.h"
#include "ops/loss.h"
#include "ops/reduction.h"
#include "ops/shape_ops.h"

using namespace cardinal;
using Catch::Contains;

TEST_CASE("broadcast mismatch is a ShapeError naming the op and both shapes", "[ops][errors]") {
    Tensor a = zeros({2, 3}), b = zeros({4, 3});
    CHECK_THROWS_AS(add(a, b), ShapeError);
    CHECK_THROWS_WITH(add(a, b), Contains("add") && Contains("[2, 3]") && Contains("[4, 3]"));
    CHECK_THROWS_WITH(mul(a, zeros({2})), Contains("mul") && Contains("[2, 3]") && Contains("[2]"));
}

TEST_CASE("matmul inner-size mismatch is a ShapeError with both shapes", "[ops][errors]") {
    CHECK_THROWS_AS(matmul(zeros({2, 3}), zeros({4, 5})), ShapeError);
    CHECK_THROWS_WITH(matmul(zeros({2, 3}), zeros({4, 5})),
                      Contains("matmul") && Contains("[2, 3]") && Contains("[4, 5]"));
    CHECK_THROWS_AS(matmul(zeros({2, 3, 4}), zeros({3, 4, 2})), ShapeError);  // batch 2 vs 3
    CHECK_THROWS_WITH(linear(zeros({2, 3}), zeros({5, 4})),
                      Contains("linear") && Contains("[2, 3]") && Contains("[5, 4]"));
    CHECK_THROWS_AS(linear(zeros({2, 3}), zeros({5, 3}), zeros({4})), ShapeError);
}

TEST_CASE("cat shape mismatch is a ShapeError naming both shapes", "[ops][errors]") {
    CHECK_THROWS_AS(cat({zeros({2, 3}), zeros({2, 4})}, 0), ShapeError);
    CHECK_THROWS_WITH(cat({zeros({2, 3}), zeros({2, 4})}, 0),
                      Contains("cat") && Contains("[2, 3]") && Contains("[2, 4]"));
    CHECK_THROWS_WITH(cat({zeros({2, 3}), zeros({2, 3, 1})}, 0),
                      Contains("cat") && Contains("[2, 3, 1]"));
    CHECK_THROWS_WITH(stack({zeros({2, 3}), zeros({3, 2})}, 0),
                      Contains("stack") && Contains("[2, 3]") && Contains("[3, 2]"));
}

TEST_CASE("dtype mismatch is a DTypeError naming both dtypes", "[ops][errors]") {
    Tensor f = zeros({2}, DType::Float32), d = zeros({2}, DType::Float64);
    CHECK_THROWS_AS(add(f, d), DTypeError);
    CHECK_THROWS_WITH(add(f, d),
                      Contains("add") && Contains("float32 [2]") && Contains("float64 [2]"));
    CHECK_THROWS_AS(matmul(zeros({2, 2}), zeros({2, 2}, DType::Float64)), DTypeError);
    CHECK_THROWS_AS(cat({f, d}, 0), DTypeError);
    CHECK_THROWS_AS(mse_loss(f, d), DTypeError);
    CHECK_THROWS_AS(sigmoid(zeros({2}, DType::Int64)), DTypeError);
}

TEST_CASE("bad dims are IndexErrors naming the op and rank", "[ops][errors]") {
    Tensor a = zeros({2, 3});
    CHECK_THROWS_AS(sum(a, {2}), IndexError);
    CHECK_THROWS_WITH(softmax(a, 2),
                      Contains("softmax") && Contains("dim 2") && Contains("rank 2"));
    CHECK_THROWS_WITH(max(a, -3), Contains("max") && Contains("dim -3"));
    CHECK_THROWS_AS(transpose(a, 0, 5), IndexError);
    CHECK_THROWS_AS(narrow(a, 1, 2, 2), IndexError);
    CHECK_THROWS_AS(unsqueeze(a, 4), IndexError);
    CHECK_THROWS_AS(permute(a, {0, 0}), ShapeError);
    CHECK_THROWS_AS(sum(a, {1, 1}), IndexError);
}

TEST_CASE("reshape to a wrong element count is a ShapeError naming both shapes", "[ops][errors]") {
    Tensor a = zeros({2, 3});
    CHECK_THROWS_AS(reshape(a, {4, 2}), ShapeError);
    CHECK_THROWS_WITH(reshape(a, {4, 2}),
                      Contains("reshape") && Contains("[2, 3]") && Contains("[4, 2]"));
    CHECK_THROWS_WITH(view(a, {5, -1}), Contains("view") && Contains("[2, 3]"));
    CHECK_THROWS_WITH(view(transpose(a, 0, 1), {6}), Contains("view") && Contains("reshape"));
    CHECK_THROWS_WITH(expand(zeros({2, 3}), {4, 3}),
                      Contains("expand") && Contains("[2, 3]") && Contains("[4, 3]"));
}

TEST_CASE("cross_entropy validates targets and shapes", "[ops][errors]") {
    Tensor logits = zeros({2, 3});
    CHECK_THROWS_AS(cross_entropy(logits, from_vector_i64({0, 3}, {2})), IndexError);
    CHECK_THROWS_WITH(cross_entropy(logits, from_vector_i64({0, 3}, {2})),
                      Contains("cross_entropy") && Contains("target 3") && Contains("3 classes"));
    CHECK_THROWS_AS(cross_entropy(logits, from_vector_i64({-1, 0}, {2})), IndexError);
    CHECK_THROWS_WITH(cross_entropy(logits, from_vector_i64({0, 1, 2}, {3})),
                      Contains("cross_entropy") && Contains("[3]") && Contains("[2, 3]"));
    CHECK_THROWS_AS(cross_entropy(logits, zeros({2})), DTypeError);
    CHECK_THROWS_AS(cross_entropy(zeros({6}), from_vector_i64({0}, {1})), ShapeError);
    CHECK_THROWS_AS(cross_entropy(logits, from_vector_i64({0, 1}, {2}), Reduction::Mean, 1.0),
                    ValueError);
    CHECK_THROWS_WITH(mse_loss(zeros({2, 3}), zeros({3, 2})),
                      Contains("mse_loss") && Contains("[2, 3]") && Contains("[3, 2]"));
}
