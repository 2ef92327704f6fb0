// Optimizer and scheduler state_dict: a restored copy continues exactly like the original,
// and a state that does not fit is refused with a clear error.
#include <catch2/catch.hpp>

#include "autograd/variable.h"
#include "optim/adam.h"
#include "optim/schedule.h"
#include "optim/sgd.h"
#include "tensor/random.h"

using namespace cardinal;

namespace {

std::vector<Tensor> make_params(uint64_t seed) {
    Generator gen(seed);
    return {set_requires_grad(randn({4, 3}, DType::Float32, &gen)),
            set_requires_grad(randn({3}, DType::Float32, &gen))};
}

std::vector<Tensor> clone_params(const std::vector<Tensor>& ps) {
    std::vector<Tensor> out;
    for (const Tensor& p : ps) out.push_back(set_requires_grad(p.clone()));
    return out;
}

void give_grads(const std::vector<Tensor>& ps, uint64_t seed) {
    Generator gen(seed);
    for (const Tensor& p : ps) set_grad(p, randn(p.shape(), p.dtype(), &gen));
}

// Steps `a` twice, copies its state into `b` (over cloned parameters), then steps both three
// more times with the same gradients: they must agree bit for bit.
template <typename Make>
void check_round_trip(Make make) {
    std::vector<Tensor> pa = make_params(1);
    auto a = make(pa);
    LRScheduler sa(*a, Schedule::step(2, 0.5));
    for (uint64_t s = 0; s < 2; ++s) {
        give_grads(pa, 10 + s);
        a->step();
        sa.step();
    }
    std::vector<Tensor> pb = clone_params(pa);
    auto b = make(pb);
    LRScheduler sb(*b, Schedule::step(2, 0.5));
    NamedTensors checkpoint = with_prefix(a->state_dict(), "optimizer.");
    for (auto& kv : with_prefix(sa.state_dict(), "scheduler.")) checkpoint.push_back(kv);
    b->load_state_dict(strip_prefix(checkpoint, "optimizer."));
    sb.load_state_dict(strip_prefix(checkpoint, "scheduler."));
    CHECK(b->lr(0) == a->lr(0));
    for (uint64_t s = 2; s < 5; ++s) {
        give_grads(pa, 10 + s);
        give_grads(pb, 10 + s);
        a->step();
        b->step();
        sa.step();
        sb.step();
    }
    for (size_t i = 0; i < pa.size(); ++i) CHECK(max_abs_diff(pa[i], pb[i]) == 0.0);
    CHECK(a->lr(0) == b->lr(0));
}

}  // namespace

TEST_CASE("SGD state_dict round trip continues identically", "[optim]") {
    check_round_trip([](const std::vector<Tensor>& ps) {
        return std::make_unique<SGD>(
            ps, SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-3, .nesterov = true});
    });
}

TEST_CASE("AdamW state_dict round trip continues identically", "[optim]") {
    check_round_trip([](const std::vector<Tensor>& ps) {
        return std::make_unique<AdamW>(
            ps, AdamOptions{.lr = 0.01, .weight_decay = 0.1, .amsgrad = true});
    });
}

TEST_CASE("state_dict names and scalar encoding", "[optim]") {
    std::vector<Tensor> ps = make_params(2);
    Adam opt({ParamGroup{{ps[0]}, {}, {}}, ParamGroup{{ps[1]}, 0.5, 0.0}}, AdamOptions{});
    give_grads(ps, 3);
    opt.step();
    std::map<std::string, Tensor> sd;
    for (auto& [k, v] : opt.state_dict()) sd[k] = v;
    REQUIRE(sd.count("param_groups.1.lr"));
    CHECK(sd["param_groups.1.lr"].dim() == 0);
    CHECK(sd["param_groups.1.lr"].dtype() == DType::Float64);
    CHECK(sd["param_groups.1.lr"].item() == 0.5);
    CHECK(sd["param_groups.0.num_params"].item() == 1);
    CHECK(sd["options.beta2"].item() == 0.999);
    CHECK(sd["state.1.step"].item() == 1);
    CHECK(sd["state.0.exp_avg"].shape() == Shape{4, 3});
    CHECK(sd["state.1.exp_avg_sq"].shape() == Shape{3});
    CHECK(sd.count("state.0.max_exp_avg_sq") == 0);
}

TEST_CASE("load_state_dict refuses a state that does not fit", "[optim]") {
    std::vector<Tensor> ps = make_params(3);
    SGD a(ps, SGDOptions{.lr = 0.1, .momentum = 0.9});
    give_grads(ps, 4);
    a.step();
    NamedTensors good = a.state_dict();

    SGD b(clone_params(ps), SGDOptions{.lr = 0.1, .momentum = 0.9});
    SECTION("wrong shape") {
        NamedTensors bad = good;
        for (auto& kv : bad)
            if (kv.first == "state.0.momentum_buffer") kv.second = zeros({3, 4});
        CHECK_THROWS_AS(b.load_state_dict(bad), ShapeError);
    }
    SECTION("more parameters than this optimizer") {
        NamedTensors bad = good;
        bad.emplace_back("state.7.momentum_buffer", zeros({3}));
        CHECK_THROWS_WITH(b.load_state_dict(bad), Catch::Contains("2 parameters"));
    }
    SECTION("different group layout") {
        SGD c({ParamGroup{{ps[0]}, {}, {}}, ParamGroup{{ps[1]}, {}, {}}}, SGDOptions{});
        CHECK_THROWS_AS(c.load_state_dict(good), ValueError);
    }
    SECTION("unknown entries") {
        NamedTensors bad = good;
        bad.emplace_back("state.0.exp_avg", zeros({4, 3}));
        CHECK_THROWS_WITH(b.load_state_dict(bad), Catch::Contains("unknown state"));
        CHECK_THROWS_AS(Adam(clone_params(ps), AdamOptions{}).load_state_dict(good), ValueError);
    }
    SECTION("a refused state leaves the optimizer untouched") {
        NamedTensors bad = good;
        bad.emplace_back("param_groups.0.bogus", scalar_tensor(1.0, DType::Float64));
        b.set_lr(0, 0.7);
        CHECK_THROWS_AS(b.load_state_dict(bad), ValueError);
        CHECK(b.lr(0) == 0.7);
    }
}
