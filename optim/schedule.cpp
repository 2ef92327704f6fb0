#include "optim/schedule.h"

#include <algorithm>
#include <cmath>

namespace cardinal {
namespace {

double cos_anneal(double start, double end, double pct) {
    return end + (start - end) / 2.0 * (1.0 + std::cos(M_PI * pct));
}

}  // namespace

double step_lr(double base_lr, int64_t s, int64_t step_size, double gamma) {
    check<ValueError>(step_size > 0, "step_lr: step_size must be > 0, got ", step_size);
    return base_lr * std::pow(gamma, static_cast<double>(std::max<int64_t>(s, 0) / step_size));
}

double multistep_lr(double base_lr, int64_t s, const std::vector<int64_t>& milestones,
                    double gamma) {
    int64_t passed =
        std::count_if(milestones.begin(), milestones.end(), [&](int64_t m) { return m <= s; });
    return base_lr * std::pow(gamma, static_cast<double>(passed));
}

double warmup_cosine_lr(double base_lr, int64_t s, int64_t warmup_steps, int64_t total_steps) {
    check<ValueError>(warmup_steps >= 0 && warmup_steps < total_steps,
                      "warmup_cosine_lr: need 0 <= warmup_steps < total_steps, got ", warmup_steps,
                      " and ", total_steps);
    s = std::max<int64_t>(s, 0);
    if (s < warmup_steps)
        return base_lr * static_cast<double>(s + 1) / static_cast<double>(warmup_steps);
    s = std::min(s, total_steps);  // past the end the rate stays at 0
    return 0.5 * base_lr *
           (1.0 + std::cos(M_PI * static_cast<double>(s - warmup_steps) /
                           static_cast<double>(total_steps - warmup_steps)));
}

double one_cycle_lr(double max_lr, int64_t s, int64_t total_steps, double pct_start,
                    double div_factor, double final_div_factor) {
    const double up_end = pct_start * static_cast<double>(total_steps) - 1.0;
    const double down_end = static_cast<double>(total_steps) - 1.0;
    check<ValueError>(up_end > 0 && up_end < down_end, "one_cycle_lr: pct_start ", pct_start,
                      " with total_steps ", total_steps,
                      " leaves no warm-up or no annealing phase");
    check<ValueError>(div_factor > 0 && final_div_factor > 0,
                      "one_cycle_lr: div factors must be > 0, got ", div_factor, " and ",
                      final_div_factor);
    const double initial = max_lr / div_factor, min_lr = initial / final_div_factor;
    const double x = static_cast<double>(std::clamp<int64_t>(s, 0, total_steps - 1));
    if (x <= up_end) return cos_anneal(initial, max_lr, x / up_end);
    return cos_anneal(max_lr, min_lr, (x - up_end) / (down_end - up_end));
}

Schedule Schedule::constant() { return Schedule{}; }

Schedule Schedule::step(int64_t step_size, double gamma) {
    Schedule s;
    s.kind = Kind::Step;
    s.step_size = step_size;
    s.gamma = gamma;
    s.validate();
    return s;
}

Schedule Schedule::multistep(std::vector<int64_t> milestones, double gamma) {
    Schedule s;
    s.kind = Kind::MultiStep;
    s.milestones = std::move(milestones);
    s.gamma = gamma;
    s.validate();
    return s;
}

Schedule Schedule::warmup_cosine(int64_t warmup_steps, int64_t total_steps) {
    Schedule s;
    s.kind = Kind::WarmupCosine;
    s.warmup_steps = warmup_steps;
    s.total_steps = total_steps;
    s.validate();
    return s;
}

Schedule Schedule::one_cycle(int64_t total_steps, double pct_start, double div_factor,
                             double final_div_factor) {
    Schedule s;
    s.kind = Kind::OneCycle;
    s.total_steps = total_steps;
    s.pct_start = pct_start;
    s.div_factor = div_factor;
    s.final_div_factor = final_div_factor;
    s.validate();
    return s;
}

void Schedule::validate() const {
    // Evaluating step 0 runs every argument check of the schedule's function.
    if (kind == Kind::MultiStep)
        check<ValueError>(std::is_sorted(milestones.begin(), milestones.end()),
                          "multistep schedule: milestones must be ascending");
    lr(1.0, 0);
}

double Schedule::lr(double base_lr, int64_t s) const {
    switch (kind) {
        case Kind::Constant:
            return base_lr;
        case Kind::Step:
            return step_lr(base_lr, s, step_size, gamma);
        case Kind::MultiStep:
            return multistep_lr(base_lr, s, milestones, gamma);
        case Kind::WarmupCosine:
            return warmup_cosine_lr(base_lr, s, warmup_steps, total_steps);
        case Kind::OneCycle:
            return one_cycle_lr(base_lr, s, total_steps, pct_start, div_factor, final_div_factor);
    }
    fail<ValueError>("schedule: unknown kind");
}

LRScheduler::LRScheduler(Optimizer& optimizer, Schedule schedule)
    : optimizer_(optimizer), schedule_(std::move(schedule)) {
    schedule_.validate();
    for (int64_t g = 0; g < optimizer_.num_groups(); ++g) base_lrs_.push_back(optimizer_.lr(g));
    apply();
}

void LRScheduler::step() {
    ++step_;
    apply();
}

void LRScheduler::set_step(int64_t s) {
    check<ValueError>(s >= 0, "LRScheduler: step must be >= 0, got ", s);
    step_ = s;
    apply();
}

void LRScheduler::apply() {
    for (int64_t g = 0; g < optimizer_.num_groups(); ++g)
        optimizer_.set_lr(g, schedule_.lr(base_lrs_[g], step_));
}

NamedTensors LRScheduler::state_dict() const {
    NamedTensors out;
    out.emplace_back("step", scalar_tensor(static_cast<double>(step_), DType::Float64));
    for (size_t g = 0; g < base_lrs_.size(); ++g)
        out.emplace_back("base_lr." + std::to_string(g),
                         scalar_tensor(base_lrs_[g], DType::Float64));
    return out;
}

void LRScheduler::load_state_dict(const NamedTensors& dict) {
    int64_t s = -1;
    std::vector<double> bases(base_lrs_.size(), -1.0);
    for (const auto& [key, value] : dict) {
        check<ValueError>(value.defined() && value.numel() == 1, "LRScheduler load_state_dict: '",
                          key, "' must hold one number, got ", describe(value));
        if (key == "step") {
            s = static_cast<int64_t>(value.item());
            continue;
        }
        check<ValueError>(key.rfind("base_lr.", 0) == 0,
                          "LRScheduler load_state_dict: unexpected key '", key, "'");
        std::string index = key.substr(8);
        bool digits =
            !index.empty() && index.size() < 10 &&
            std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; });
        check<ValueError>(digits, "LRScheduler load_state_dict: bad key '", key, "'");
        size_t g = std::stoul(index);
        check<ValueError>(g < bases.size(), "LRScheduler load_state_dict: '", key, "' names group ",
                          g, " but the optimizer has ", bases.size(), " groups");
        bases[g] = value.item();
    }
    check<ValueError>(s >= 0, "LRScheduler load_state_dict: missing or negative 'step'");
    for (size_t g = 0; g < bases.size(); ++g)
        check<ValueError>(bases[g] >= 0, "LRScheduler load_state_dict: missing 'base_lr.", g, "'");
    base_lrs_ = bases;
    set_step(s);
}

}  // namespace cardinal
