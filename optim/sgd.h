// SGD with momentum, dampening, Nesterov and L2 weight decay: torch.optim.SGD's rule.
//   d = grad + wd * p
//   buf = d                                   (first step with momentum: no dampening)
//   buf = momentum * buf + (1 - dampening) * d  (later steps)
//   d = nesterov ? d + momentum * buf : buf     (when momentum != 0)
//   p -= lr * d
// State: state.<i>.momentum_buffer (only when momentum != 0).
#pragma once
#include "optim/optimizer.h"

namespace cardinal {

struct SGDOptions {
    double lr = 0.1;
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;
    bool nesterov = false;
};

class SGD : public Optimizer {
  public:
    SGD(std::vector<Tensor> params, const SGDOptions& options);
    // Groups may override lr and weight_decay; the rest comes from options.
    SGD(std::vector<ParamGroup> groups, const SGDOptions& options);
    const char* name() const override { return "SGD"; }
    const SGDOptions& sgd_options() const { return options_; }

  protected:
    void update(const Group& group, int64_t index, const Tensor& p, const Tensor& g) override;
    std::vector<std::pair<std::string, double>> options() const override;
    void set_option(const std::string& name, double value) override;
    std::vector<std::string> state_names() const override { return {"momentum_buffer"}; }

  private:
    void validate() const;
    SGDOptions options_;
};

}  // namespace cardinal
