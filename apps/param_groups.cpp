#include "apps/param_groups.h"

#include <cmath>

#include "optim/adam.h"
#include "optim/sgd.h"

namespace cardinal::apps {

std::vector<ParamGroup> decay_param_groups(const Module& model) {
    // Decaying BatchNorm scales and biases only shrinks them toward a worse fit; timm and
    // torchvision recipes leave them undecayed.
    ParamGroup decay, no_decay;
    no_decay.weight_decay = 0.0;
    for (const auto& [name, p] : model.named_parameters())
        (p.dim() > 1 ? decay : no_decay).params.push_back(p);
    std::vector<ParamGroup> groups;
    for (ParamGroup* g : {&decay, &no_decay})
        if (!g->params.empty()) groups.push_back(*g);
    return groups;
}

std::unique_ptr<Optimizer> make_optimizer(const Module& model, const TrainOptions& o) {
    std::vector<ParamGroup> groups = decay_param_groups(model);
    if (o.optimizer == "sgd") {
        SGDOptions so;
        so.lr = o.lr;
        so.momentum = o.momentum;
        so.nesterov = o.nesterov;
        so.weight_decay = o.wd;
        return std::make_unique<SGD>(groups, so);
    }
    AdamOptions ao;
    ao.lr = o.lr;
    ao.beta1 = o.beta1;
    ao.beta2 = o.beta2;
    ao.weight_decay = o.wd;
    return std::make_unique<AdamW>(groups, ao);
}

std::unique_ptr<LRScheduler> make_scheduler(Optimizer& optimizer, const TrainOptions& o,
                                            int64_t spe) {
    const int64_t total = o.epochs * spe;
    Schedule s = Schedule::constant();
    if (o.schedule == "cosine") {
        s = Schedule::warmup_cosine(
            static_cast<int64_t>(std::llround(o.effective_warmup_epochs() * spe)), total);
    } else if (o.schedule == "step") {
        s = Schedule::step(o.step_epochs * spe, o.gamma);
    } else if (o.schedule == "multistep") {
        std::vector<int64_t> steps;
        for (int64_t m : o.milestones) steps.push_back(m * spe);
        s = Schedule::multistep(steps, o.gamma);
    } else if (o.schedule == "onecycle") {
        s = Schedule::one_cycle(total);
    }
    s.validate();
    return std::make_unique<LRScheduler>(optimizer, s);
}

}  // namespace cardinal::apps
