// LR schedules at documented steps, the scheduler object, and gradient clipping.
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/variable.h"
#include "optim/clip.h"
#include "optim/schedule.h"
#include "optim/sgd.h"

using namespace cardinal;

TEST_CASE("step and multistep schedules", "[optim]") {
    CHECK(step_lr(0.1, 0, 3, 0.5) == 0.1);
    CHECK(step_lr(0.1, 2, 3, 0.5) == 0.1);
    CHECK(step_lr(0.1, 3, 3, 0.5) == Approx(0.05));
    CHECK(step_lr(0.1, 7, 3, 0.5) == Approx(0.025));
    std::vector<int64_t> ms = {2, 5};
    CHECK(multistep_lr(1.0, 1, ms, 0.1) == 1.0);
    CHECK(multistep_lr(1.0, 2, ms, 0.1) == Approx(0.1));
    CHECK(multistep_lr(1.0, 4, ms, 0.1) == Approx(0.1));
    CHECK(multistep_lr(1.0, 5, ms, 0.1) == Approx(0.01));
    CHECK_THROWS_AS(Schedule::step(0), ValueError);
    CHECK_THROWS_AS(Schedule::multistep({5, 2}), ValueError);
}

TEST_CASE("warmup + cosine follows the Fashion-MNIST recipe formula", "[optim]") {
    // fmnist_recipe.json: base 0.1, warmup 468, total 2808 iterations.
    const double base = 0.1;
    const int64_t w = 468, t = 2808;
    CHECK(warmup_cosine_lr(base, 0, w, t) == Approx(0.1 / 468).epsilon(1e-14));
    CHECK(warmup_cosine_lr(base, 233, w, t) == Approx(0.1 * 234 / 468).epsilon(1e-14));
    CHECK(warmup_cosine_lr(base, 467, w, t) == Approx(0.1).epsilon(1e-14));          // warmup end
    CHECK(warmup_cosine_lr(base, 468, w, t) == Approx(0.1).epsilon(1e-14));          // cos(0)
    CHECK(warmup_cosine_lr(base, 468 + 1170, w, t) == Approx(0.05).epsilon(1e-14));  // middle
    const double last = 0.5 * 0.1 * (1 + std::cos(M_PI * 2339.0 / 2340.0));
    CHECK(warmup_cosine_lr(base, 2807, w, t) == Approx(last).epsilon(1e-12));
    CHECK(last < 1e-7);
    CHECK(warmup_cosine_lr(base, 2808, w, t) == Approx(0.0).margin(1e-18));
    CHECK(warmup_cosine_lr(base, 5000, w, t) == Approx(0.0).margin(1e-18));
}

TEST_CASE("one-cycle matches torch OneCycleLR defaults", "[optim]") {
    // torch.optim.lr_scheduler.OneCycleLR(max_lr=0.1, total_steps=100, cycle_momentum=False)
    const std::vector<std::pair<int64_t, double>> torch_values = {{0, 0.0040000000000000036},
                                                                  {1, 0.004281378056590748},
                                                                  {15, 0.05459866761210004},
                                                                  {29, 0.1},
                                                                  {30, 0.09994965352845243},
                                                                  {50, 0.0793893450575732},
                                                                  {99, 4e-07}};
    for (auto [s, want] : torch_values) {
        INFO("step " << s);
        CHECK(one_cycle_lr(0.1, s, 100) == Approx(want).epsilon(1e-12));
    }
    CHECK_THROWS_AS(Schedule::one_cycle(2), ValueError);
}

TEST_CASE("LRScheduler sets every group's lr from its base", "[optim]") {
    Tensor w = set_requires_grad(zeros({2})), b = set_requires_grad(zeros({1}));
    SGD opt({ParamGroup{{w}, 0.1, {}}, ParamGroup{{b}, 0.2, {}}}, SGDOptions{});
    LRScheduler sched(opt, Schedule::warmup_cosine(4, 10));
    CHECK(opt.lr(0) == Approx(0.025));  // step 0 applied on construction
    CHECK(opt.lr(1) == Approx(0.05));
    for (int i = 0; i < 3; ++i) sched.step();
    CHECK(sched.current_step() == 3);
    CHECK(opt.lr(0) == Approx(0.1));
    CHECK(opt.lr(1) == Approx(0.2));
    sched.set_step(7);  // middle of the cosine: (7-4)/(10-4) = 1/2
    CHECK(opt.lr(0) == Approx(0.05));
    NamedTensors sd = sched.state_dict();
    LRScheduler other(opt, Schedule::warmup_cosine(4, 10));  // would take 0.05/0.1 as bases
    other.load_state_dict(sd);
    CHECK(other.base_lr(0) == 0.1);
    CHECK(opt.lr(1) == Approx(0.1));
    NamedTensors bad = sd;
    bad.emplace_back("base_lr.5", scalar_tensor(1.0, DType::Float64));
    CHECK_THROWS_AS(other.load_state_dict(bad), ValueError);
}

TEST_CASE("clip_grad_norm_ scales all gradients by max_norm / total", "[optim]") {
    Tensor a = set_requires_grad(zeros({2}, DType::Float64));
    Tensor b = set_requires_grad(zeros({1, 1}, DType::Float32));
    Tensor c = set_requires_grad(zeros({3}, DType::Float64));  // no gradient: ignored
    set_grad(a, from_vector({3, 4}, {2}, DType::Float64));
    set_grad(b, from_vector({12}, {1, 1}, DType::Float32));
    double total = clip_grad_norm_({a, b, c}, 1.0);
    CHECK(total == Approx(13.0).epsilon(1e-12));
    const double coef = 1.0 / (13.0 + 1e-6);
    CHECK(grad(a).to_vector()[0] == Approx(3 * coef).epsilon(1e-12));
    CHECK(grad(a).to_vector()[1] == Approx(4 * coef).epsilon(1e-12));
    CHECK(grad(b).to_vector()[0] == Approx(12 * coef).epsilon(1e-6));
    CHECK_FALSE(grad(c).defined());

    // Under the limit nothing changes.
    double again = clip_grad_norm_({a, b, c}, 5.0);
    CHECK(again == Approx(1.0).epsilon(1e-6));
    CHECK(grad(a).to_vector()[0] == Approx(3 * coef).epsilon(1e-12));

    // Infinity norm: the largest |g|.
    set_grad(a, from_vector({-6, 2}, {2}, DType::Float64));
    CHECK(clip_grad_norm_({a}, 3.0, INFINITY) == 6.0);
    CHECK(grad(a).to_vector()[0] == Approx(-6 * 3.0 / (6 + 1e-6)));
    CHECK_THROWS_AS(clip_grad_norm_({a}, 1.0, 1.0), ValueError);
}

TEST_CASE("clip_grad_norm_ does not scale a broadcast gradient view repeatedly", "[optim]") {
    Tensor p = set_requires_grad(zeros({4}, DType::Float64));
    set_grad(p, from_vector({2.0}, {1}, DType::Float64).expand({4}));
    double total = clip_grad_norm_({p}, 1.0);
    CHECK(total == Approx(4.0));
    for (double v : grad(p).to_vector()) CHECK(v == Approx(2.0 / (4.0 + 1e-6)));
}
