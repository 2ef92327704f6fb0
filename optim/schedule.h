// Learning-rate schedules as pure functions of the step, and a scheduler that applies one to
// an optimizer. A "step" is whatever the caller counts: call LRScheduler::step() after every
// iteration for a per-iteration schedule, or after every epoch for a per-epoch one; the
// schedule's sizes (step_size, milestones, warmup/total steps) are in that unit.
//
// Each schedule gives the learning rate at 0-based step s from a base lr (the group's lr when
// the scheduler was made; for one-cycle, base lr = max_lr):
//   step:        base * gamma^floor(s / step_size)                      (StepLR)
//   multistep:   base * gamma^(number of milestones <= s)                (MultiStepLR)
//   warmup_cosine: base * (s+1) / W                         for s < W
//                  0.5 * base * (1 + cos(pi * (s - W) / (T - W)))  for W <= s <= T, 0 after
//   one_cycle:   OneCycleLR (anneal_strategy 'cos', three_phase false, no momentum cycling):
//                initial = base / div_factor, min = initial / final_div_factor,
//                a = pct_start * T - 1, b = T - 1,
//                s <= a: cos_anneal(initial, base, s / a); else cos_anneal(base, min, (s-a)/(b-a))
//                cos_anneal(x, y, pct) = y + (x - y) / 2 * (1 + cos(pi * pct))
#pragma once
#include <cstdint>
#include <vector>

#include "optim/optimizer.h"

namespace cardinal {

double step_lr(double base_lr, int64_t s, int64_t step_size, double gamma);
double multistep_lr(double base_lr, int64_t s, const std::vector<int64_t>& milestones,
                    double gamma);
double warmup_cosine_lr(double base_lr, int64_t s, int64_t warmup_steps, int64_t total_steps);
double one_cycle_lr(double max_lr, int64_t s, int64_t total_steps, double pct_start = 0.3,
                    double div_factor = 25.0, double final_div_factor = 1e4);

// A schedule by kind with its parameters; lr(base, s) dispatches to the functions above.
struct Schedule {
    enum class Kind { Constant, Step, MultiStep, WarmupCosine, OneCycle };
    Kind kind = Kind::Constant;
    int64_t step_size = 1;            // Step
    std::vector<int64_t> milestones;  // MultiStep (ascending)
    double gamma = 0.1;               // Step, MultiStep
    int64_t warmup_steps = 0;         // WarmupCosine
    int64_t total_steps = 1;          // WarmupCosine, OneCycle
    double pct_start = 0.3;           // OneCycle
    double div_factor = 25.0;         // OneCycle
    double final_div_factor = 1e4;    // OneCycle

    static Schedule constant();
    static Schedule step(int64_t step_size, double gamma = 0.1);
    static Schedule multistep(std::vector<int64_t> milestones, double gamma = 0.1);
    static Schedule warmup_cosine(int64_t warmup_steps, int64_t total_steps);
    static Schedule one_cycle(int64_t total_steps, double pct_start = 0.3, double div_factor = 25.0,
                              double final_div_factor = 1e4);

    // Throws ValueError naming the bad parameter.
    void validate() const;
    double lr(double base_lr, int64_t s) const;
};

// Sets every group's lr to schedule.lr(base_lr[g], s). Construction applies step 0;
// step() advances to s + 1 and applies it. So: build it, then after each iteration (or epoch)
// call optimizer.step() and then scheduler.step(), as in PyTorch.
class LRScheduler {
  public:
    LRScheduler(Optimizer& optimizer, Schedule schedule);
    void step();
    // Jumps to step s (resume) and applies it.
    void set_step(int64_t s);
    int64_t current_step() const { return step_; }
    double base_lr(int64_t group) const { return base_lrs_.at(group); }
    const Schedule& schedule() const { return schedule_; }

    // "step" and "base_lr.<g>" (0-d float64); prefix them (with_prefix) in a checkpoint.
    NamedTensors state_dict() const;
    void load_state_dict(const NamedTensors& dict);

  private:
    void apply();
    Optimizer& optimizer_;
    Schedule schedule_;
    std::vector<double> base_lrs_;
    int64_t step_ = 0;
};

}  // namespace cardinal
