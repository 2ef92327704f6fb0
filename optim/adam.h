// Adam and AdamW as torch.optim (PyTorch 1.13), per parameter with its own step count t:
//   Adam:  g = grad + wd * p                 AdamW: p *= 1 - lr * wd;  g = grad
//   m = b1 * m + (1 - b1) * g
//   v = b2 * v + (1 - b2) * g^2
//   v_max = max(v_max, v)                    (amsgrad only; then v_max replaces v below)
//   denom = sqrt(v) / sqrt(1 - b2^t) + eps   (eps added after the bias-corrected sqrt)
//   p -= lr / (1 - b1^t) * m / denom
// State: state.<i>.step (0-d float64), exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad).
#pragma once
#include "optim/optimizer.h"

namespace cardinal {

struct AdamOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;  // AdamW's PyTorch default is 1e-2: set it explicitly
    bool amsgrad = false;
};

class Adam : public Optimizer {
  public:
    Adam(std::vector<Tensor> params, const AdamOptions& options);
    Adam(std::vector<ParamGroup> groups, const AdamOptions& options);
    const char* name() const override { return decoupled_ ? "AdamW" : "Adam"; }
    const AdamOptions& adam_options() const { return options_; }

  protected:
    Adam(std::vector<ParamGroup> groups, const AdamOptions& options, bool decoupled);
    void update(const Group& group, int64_t index, const Tensor& p, const Tensor& g) override;
    std::vector<std::pair<std::string, double>> options() const override;
    void set_option(const std::string& name, double value) override;
    std::vector<std::string> state_names() const override {
        return {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    }

  private:
    void validate() const;
    AdamOptions options_;
    bool decoupled_;
};

// Adam with decoupled weight decay (Loshchilov & Hutter).
class AdamW : public Adam {
  public:
    AdamW(std::vector<Tensor> params, const AdamOptions& options);
    AdamW(std::vector<ParamGroup> groups, const AdamOptions& options);
};

}  // namespace cardinal
