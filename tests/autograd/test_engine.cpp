#include <catch2/catch.hpp>

#include "autograd/engine.h"
#include "autograd/gradcheck.h"
#include "autograd/variable.h"
#include "ops/arithmetic.h"
#include "tensor/random.h"

using namespace cardinal;

TEST_CASE("backward of a product accumulates into leaves", "[autograd]") {
    Tensor a = set_requires_grad(from_vector({1, 2, 3}, {3}, DType::Float64));
    Tensor b = set_requires_grad(from_vector({4, 5, 6}, {3}, DType::Float64));
    Tensor z = mul(a, b);
    backward(z, ones({3}, DType::Float64));
    CHECK(grad(a).to_vector() == std::vector<double>{4, 5, 6});
    CHECK(grad(b).to_vector() == std::vector<double>{1, 2, 3});
    Tensor z2 = mul(a, b);
    backward(z2, ones({3}, DType::Float64));
    CHECK(grad(a).to_vector() == std::vector<double>{8, 10, 12});
}

TEST_CASE("gradcheck mul/div with broadcasting", "[gradcheck]") {
    Generator gen(7);
    Tensor a = set_requires_grad(randn({2, 3}, DType::Float64, &gen));
    Tensor b = set_requires_grad(add(randn({3}, DType::Float64, &gen), 3.0).alias());
    set_requires_grad(b);
    auto r = gradcheck([](const std::vector<Tensor>& x) { return div(mul(x[0], x[1]), x[1] + x[0]); }, {a, b});
    INFO(r.message);
    CHECK(r.ok);
}
