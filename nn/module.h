// Module: the unit networks are built from. Parameters, buffers and child modules are
// registered by name, and names compose with dots exactly as in PyTorch, so that
// state_dict() keys equal timm's (`layer1.0.conv2.fc1.weight`).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/named_tensors.h"
#include "tensor/tensor.h"

namespace cardinal {

class Module {
public:
    virtual ~Module() = default;

    // The computation. Modules with one input override this.
    virtual Tensor forward(const Tensor& x) = 0;
    Tensor operator()(const Tensor& x) { return forward(x); }

    // "Conv2d"; and the text inside the parentheses of the printed tree.
    virtual std::string type_name() const = 0;
    virtual std::string extra_repr() const { return ""; }

    // ---- structure (registration order is kept: it is the state_dict order) ----
    const std::vector<std::pair<std::string, Tensor>>& parameters_here() const { return params_; }
    const std::vector<std::pair<std::string, Tensor>>& buffers_here() const { return buffers_; }
    const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

    NamedTensors named_parameters(const std::string& prefix = "") const;
    NamedTensors named_buffers(const std::string& prefix = "") const;
    std::vector<Tensor> parameters() const;
    std::vector<std::pair<std::string, Module*>> named_modules(const std::string& prefix = "");
    int64_t num_parameters() const;

    // Parameters then buffers of each module, depth first, as PyTorch orders them.
    NamedTensors state_dict(const std::string& prefix = "") const;
    // Copies values into this module's tensors. strict: every key must match by name, shape
    // and dtype; one error lists every missing key, unexpected key and mismatch. A missing
    // `num_batches_tracked` is accepted (PyTorch does the same for files without it).
    void load_state_dict(const NamedTensors& dict, bool strict = true);

    // ---- modes and conversion ----
    void train(bool on = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }
    void zero_grad();
    // Converts every floating parameter and buffer in place (all handles to them see it).
    void to(DType dtype);

    // PyTorch-like printed tree.
    std::string repr() const;

protected:
    // Registers a parameter (a leaf that requires grad) and returns the same handle.
    Tensor register_parameter(const std::string& name, const Tensor& t);
    Tensor register_buffer(const std::string& name, const Tensor& t);
    template <typename M>
    std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
        add_child(name, m);
        return m;
    }
    // Called by train(); modules with mode-dependent members may override.
    virtual void on_train(bool) {}

private:
    void add_child(const std::string& name, std::shared_ptr<Module> m);
    void check_new_name(const std::string& name) const;
    void repr_into(std::string& out, int indent) const;

    std::vector<std::pair<std::string, Tensor>> params_;
    std::vector<std::pair<std::string, Tensor>> buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
    bool training_ = true;
};

using ModulePtr = std::shared_ptr<Module>;

}  // namespace cardinal
