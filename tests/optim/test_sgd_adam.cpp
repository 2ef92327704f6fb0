// SGD and Adam/AdamW over three steps on small tensors, against values computed here from the
// documented update rules with plain doubles (and, where noted, numbers produced once by
// PyTorch 1.13.1's torch.optim with the same inputs).
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/variable.h"
#include "optim/adam.h"
#include "optim/sgd.h"

using namespace cardinal;
using Vec = std::vector<double>;

namespace {

const Vec kP0 = {1.0, -2.0, 0.5};
const std::vector<Vec> kGrads = {{0.1, -0.2, 0.3}, {-0.4, 0.5, 0.06}, {0.7, -0.08, -0.9}};

Tensor param(DType dtype = DType::Float64) {
    return set_requires_grad(from_vector(kP0, {3}, dtype));
}

// Runs three steps with kGrads; returns the parameter after each step.
std::vector<Vec> run(Optimizer& opt, const Tensor& p) {
    std::vector<Vec> out;
    for (const Vec& g : kGrads) {
        set_grad(p, from_vector(g, {3}, p.dtype()));
        opt.step();
        out.push_back(p.to_vector());
    }
    return out;
}

void check_close(const std::vector<Vec>& got, const std::vector<Vec>& want, double tol) {
    REQUIRE(got.size() == want.size());
    for (size_t s = 0; s < got.size(); ++s)
        for (size_t i = 0; i < got[s].size(); ++i) {
            INFO("step " << s + 1 << " element " << i);
            CHECK(got[s][i] == Approx(want[s][i]).margin(tol).epsilon(0));
        }
}

// torch.optim.SGD, written out per element.
std::vector<Vec> sgd_reference(double lr, double momentum, double dampening, double wd,
                               bool nesterov) {
    Vec p = kP0, buf(3, 0.0);
    std::vector<Vec> out;
    for (size_t s = 0; s < kGrads.size(); ++s) {
        for (int i = 0; i < 3; ++i) {
            double d = kGrads[s][i] + wd * p[i];
            if (momentum != 0) {
                buf[i] = s == 0 ? d : momentum * buf[i] + (1 - dampening) * d;
                d = nesterov ? d + momentum * buf[i] : buf[i];
            }
            p[i] -= lr * d;
        }
        out.push_back(p);
    }
    return out;
}

// torch.optim.Adam / AdamW, written out per element.
std::vector<Vec> adam_reference(double lr, double b1, double b2, double eps, double wd,
                                bool decoupled, bool amsgrad, const std::vector<Vec>& grads) {
    Vec p = kP0, m(3, 0.0), v(3, 0.0), vmax(3, 0.0);
    std::vector<Vec> out;
    for (size_t s = 0; s < grads.size(); ++s) {
        const double t = static_cast<double>(s + 1);
        for (int i = 0; i < 3; ++i) {
            double g = grads[s][i];
            if (decoupled)
                p[i] *= 1 - lr * wd;
            else
                g += wd * p[i];
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            vmax[i] = std::max(vmax[i], v[i]);
            double m_hat = m[i] / (1 - std::pow(b1, t));
            double v_use = amsgrad ? vmax[i] : v[i];
            p[i] -= lr * m_hat / (std::sqrt(v_use) / std::sqrt(1 - std::pow(b2, t)) + eps);
        }
        out.push_back(p);
    }
    return out;
}

}  // namespace

TEST_CASE("SGD plain: p -= lr * g", "[optim]") {
    Tensor p = param();
    SGD opt({p}, SGDOptions{.lr = 0.5});
    auto got = run(opt, p);
    // By hand: 1 - 0.5*(0.1 - 0.4 + 0.7) = 0.8; -2 - 0.5*(-0.2 + 0.5 - 0.08) = -2.11;
    // 0.5 - 0.5*(0.3 + 0.06 - 0.9) = 0.77
    CHECK(got[2][0] == Approx(0.8).epsilon(1e-14));
    CHECK(got[2][1] == Approx(-2.11).epsilon(1e-14));
    CHECK(got[2][2] == Approx(0.77).epsilon(1e-14));
    check_close(got, sgd_reference(0.5, 0, 0, 0, false), 1e-15);
}

TEST_CASE("SGD momentum: the first step takes the gradient undampened", "[optim]") {
    Tensor p = param();
    SGD opt({p}, SGDOptions{.lr = 0.1, .momentum = 0.9});
    auto got = run(opt, p);
    // Step 1: buf = g -> p = 1 - 0.01 = 0.99; step 2: buf = 0.09 - 0.4 = -0.31 -> 1.021
    CHECK(got[0][0] == Approx(0.99).epsilon(1e-14));
    CHECK(got[1][0] == Approx(1.021).epsilon(1e-14));
    check_close(got, sgd_reference(0.1, 0.9, 0, 0, false), 1e-14);
}

TEST_CASE("SGD momentum with dampening", "[optim]") {
    Tensor p = param();
    SGD opt({p}, SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.5});
    auto got = run(opt, p);
    // Step 2: buf = 0.9*0.1 + 0.5*(-0.4) = -0.11 -> p = 0.99 + 0.011 = 1.001
    CHECK(got[1][0] == Approx(1.001).epsilon(1e-14));
    check_close(got, sgd_reference(0.1, 0.9, 0.5, 0, false), 1e-14);
}

TEST_CASE("SGD nesterov with weight decay matches torch.optim.SGD", "[optim]") {
    Tensor p = param();
    SGD opt({p}, SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
    auto got = run(opt, p);
    // torch.optim.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), float64.
    const std::vector<Vec> torch_values = {{0.9791, -1.9582, 0.44205},
                                           {1.04432971, -2.03165942, 0.405105105},
                                           {0.9329334125509999, -2.035475125102, 0.5478828448005}};
    check_close(got, torch_values, 1e-14);
    check_close(got, sgd_reference(0.1, 0.9, 0, 0.01, true), 1e-14);
}

TEST_CASE("SGD float32 follows the float64 update", "[optim]") {
    Tensor p32 = param(DType::Float32), p64 = param();
    SGDOptions o{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true};
    SGD a({p32}, o), b({p64}, o);
    check_close(run(a, p32), run(b, p64), 1e-6);
}

TEST_CASE("Adam with L2 weight decay added to the gradient", "[optim]") {
    Tensor p = param();
    AdamOptions o{.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1};
    Adam opt({p}, o);
    auto got = run(opt, p);
    // Step 1 by hand: m_hat = g', v_hat = g'^2 with g' = 0.1 + 0.1*1 = 0.2, so
    // p = 1 - 0.01 * 0.2 / (0.2 + 1e-8).
    CHECK(got[0][0] == Approx(1 - 0.01 * 0.2 / (0.2 + 1e-8)).epsilon(1e-14));
    check_close(got, adam_reference(0.01, 0.9, 0.999, 1e-8, 0.1, false, false, kGrads), 1e-14);
}

TEST_CASE("AdamW decoupled weight decay matches torch.optim.AdamW", "[optim]") {
    Tensor p = param();
    AdamOptions o{.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1};
    AdamW opt({p}, o);
    CHECK(std::string(opt.name()) == "AdamW");
    auto got = run(opt, p);
    // torch.optim.AdamW(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1), float64.
    const std::vector<Vec> torch_values = {
        {0.9890000009999999, -1.9880000005, 0.4895000003333333},
        {0.9936060357475128, -1.9904341530212235, 0.4809800909199818},
        {0.9893015492679501, -1.9908856884113562, 0.484551838769705}};
    check_close(got, torch_values, 1e-14);
    check_close(got, adam_reference(0.01, 0.9, 0.999, 1e-8, 0.1, true, false, kGrads), 1e-14);
}

TEST_CASE("Adam amsgrad keeps the running maximum of v", "[optim]") {
    // A large first gradient then small ones: v decays, so v_max differs from v.
    const std::vector<Vec> grads = {{5.0, -4.0, 3.0}, {0.01, 0.02, -0.03}, {0.02, -0.01, 0.0}};
    AdamOptions o{.lr = 0.1, .beta1 = 0.5, .beta2 = 0.6, .eps = 1e-8, .amsgrad = true};
    Tensor p = param();
    Adam opt({p}, o);
    std::vector<Vec> got;
    for (const Vec& g : grads) {
        set_grad(p, from_vector(g, {3}, DType::Float64));
        opt.step();
        got.push_back(p.to_vector());
    }
    auto with = adam_reference(0.1, 0.5, 0.6, 1e-8, 0, false, true, grads);
    auto without = adam_reference(0.1, 0.5, 0.6, 1e-8, 0, false, false, grads);
    check_close(got, with, 1e-14);
    CHECK(std::abs(with[2][0] - without[2][0]) > 1e-4);  // the test can tell the two apart
}

TEST_CASE("Adam float32 follows the float64 update", "[optim]") {
    Tensor p32 = param(DType::Float32), p64 = param();
    AdamOptions o{.lr = 0.01, .weight_decay = 0.1};
    AdamW a({p32}, o), b({p64}, o);
    check_close(run(a, p32), run(b, p64), 1e-6);
}

TEST_CASE("optimizers skip parameters without a gradient; zero_grad undefines grads", "[optim]") {
    Tensor p = param(), q = param();
    SGD opt({p, q}, SGDOptions{.lr = 0.1, .momentum = 0.9});
    set_grad(p, from_vector({1, 1, 1}, {3}, DType::Float64));
    opt.step();
    CHECK(q.to_vector() == kP0);
    CHECK(p.to_vector()[0] == Approx(0.9));
    opt.zero_grad();
    CHECK_FALSE(grad(p).defined());
    opt.step();  // nothing has a gradient: nothing moves
    CHECK(p.to_vector()[0] == Approx(0.9));
    auto sd = opt.state_dict();
    int buffers = 0;
    for (auto& kv : sd) buffers += kv.first.find("momentum_buffer") != std::string::npos;
    CHECK(buffers == 1);  // only p has state
}

TEST_CASE("parameter groups: weight decay on weights only", "[optim]") {
    Tensor w = set_requires_grad(from_vector({1.0, 2.0}, {2, 1}, DType::Float64));
    Tensor b = set_requires_grad(from_vector({3.0}, {1}, DType::Float64));
    SGD opt({ParamGroup{{w}, {}, {}}, ParamGroup{{b}, 0.5, 0.0}},
            SGDOptions{.lr = 0.1, .weight_decay = 0.1});
    CHECK(opt.num_groups() == 2);
    CHECK(opt.weight_decay(0) == 0.1);
    CHECK(opt.weight_decay(1) == 0.0);
    CHECK(opt.lr(1) == 0.5);
    set_grad(w, from_vector({1.0, 1.0}, {2, 1}, DType::Float64));
    set_grad(b, from_vector({1.0}, {1}, DType::Float64));
    opt.step();
    CHECK(w.to_vector()[0] == Approx(1 - 0.1 * (1 + 0.1 * 1)).epsilon(1e-15));
    CHECK(w.to_vector()[1] == Approx(2 - 0.1 * (1 + 0.1 * 2)).epsilon(1e-15));
    CHECK(b.to_vector()[0] == Approx(3 - 0.5 * 1).epsilon(1e-15));
}

TEST_CASE("optimizer construction refuses bad inputs", "[optim]") {
    Tensor p = param();
    CHECK_THROWS_AS(SGD({p}, SGDOptions{.lr = -1}), ValueError);
    CHECK_THROWS_AS(SGD({p}, SGDOptions{.lr = 0.1, .nesterov = true}), ValueError);
    CHECK_THROWS_AS(SGD({p, p}, SGDOptions{}), ValueError);
    CHECK_THROWS_AS(SGD({from_vector_i64({1}, {1})}, SGDOptions{}), DTypeError);
    CHECK_THROWS_AS(Adam({p}, AdamOptions{.beta1 = 1.0}), ValueError);
    CHECK_THROWS_AS(SGD({param().expand({2, 3})}, SGDOptions{}), ValueError);
}
