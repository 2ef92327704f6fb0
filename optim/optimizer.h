// Optimizer: the shared machinery of SGD and Adam/AdamW (parameter groups, zero_grad, the
// step loop under NoGradGuard, and a flat state_dict that fits a safetensors checkpoint).
//
// Parameters are leaf tensors (float32 or float64, contiguous) whose gradients autograd has
// accumulated; step() updates their data in place. A parameter whose grad is undefined is
// skipped (its state does not advance), as in PyTorch.
//
// state_dict() names (every value a tensor; scalars are 0-d float64):
//   param_groups.<g>.lr, param_groups.<g>.weight_decay, param_groups.<g>.num_params
//   options.<name>                      optimizer-wide options (momentum, beta1, ...)
//   state.<i>.<name>                    per-parameter state, i counts parameters over all
//                                       groups in order (momentum_buffer, exp_avg, step, ...)
#pragma once
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tensor/named_tensors.h"
#include "tensor/tensor.h"

namespace cardinal {

// Parameters sharing a learning rate and weight decay; unset values take the optimizer's.
struct ParamGroup {
    std::vector<Tensor> params;
    std::optional<double> lr;
    std::optional<double> weight_decay;
};

class Optimizer {
  public:
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    virtual const char* name() const = 0;

    // One update of every parameter that has a gradient.
    void step();
    // Makes every parameter's gradient undefined (the next backward starts from nothing).
    void zero_grad();

    int64_t num_groups() const { return static_cast<int64_t>(groups_.size()); }
    int64_t num_params() const { return num_params_; }
    const std::vector<Tensor>& group_params(int64_t g) const;
    double lr(int64_t g) const;
    void set_lr(int64_t g, double lr);
    double weight_decay(int64_t g) const;
    void set_weight_decay(int64_t g, double weight_decay);

    NamedTensors state_dict() const;
    // Restores a state_dict() of an optimizer of the same kind over the same parameter
    // layout; counts, names and shapes are checked (ValueError / ShapeError) before anything
    // changes.
    void load_state_dict(const NamedTensors& dict);

  protected:
    Optimizer(std::vector<ParamGroup> groups, double default_lr, double default_weight_decay);

    struct Group {
        std::vector<Tensor> params;
        double lr;
        double weight_decay;
    };
    // Updates parameter p (global index `index`, in group `group`) from its gradient g, both
    // contiguous and of the same dtype; called under NoGradGuard.
    virtual void update(const Group& group, int64_t index, const Tensor& p, const Tensor& g) = 0;
    // Optimizer-wide options by name, for state_dict.
    virtual std::vector<std::pair<std::string, double>> options() const = 0;
    virtual void set_option(const std::string& name, double value) = 0;
    // The per-parameter state names this optimizer may hold.
    virtual std::vector<std::string> state_names() const = 0;

    // Per-parameter state, created lazily on the first update of that parameter.
    Tensor& state(int64_t index, const std::string& name) { return state_[index][name]; }

  private:
    std::vector<Group> groups_;
    std::vector<std::map<std::string, Tensor>> state_;
    int64_t num_params_ = 0;
};

}  // namespace cardinal
