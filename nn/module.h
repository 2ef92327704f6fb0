// Module: the unit networks are built from. Parameters, buffers and child modules are
// registered by name, and names compose with dots exactly as in PyTorch, so that
// state_dict() keys equal timm's (`layer1.0.conv2.fc1.weight`).
#pragma once
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/named_tensors.h"
#include "tensor/tensor.h"

namespace cardinal {

// How Module::load_state_dict treats a dict that differs from the module.
struct LoadStateOptions {
    // Missing and unexpected keys are errors; false: they are only reported. A missing
    // `num_batches_tracked` is always accepted (PyTorch does the same for files without it).
    bool strict = true;
    // A floating tensor of another floating dtype is converted to the dtype of the tensor it
    // fills (a float16 file into a float64 run); false: a dtype difference is a mismatch.
    // Floating and integer tensors never fill each other.
    bool convert_dtype = false;
    // `<classifier>.weight` and `<classifier>.bias` that differ only in their first dimension
    // (the class count) are skipped: the module keeps its own values (a new head to fine-tune).
    bool skip_classifier_mismatch = false;
    std::string classifier = "fc";
    // What the dict is, for the error: "weights model.safetensors".
    std::string source = "the state dict";
};

// What load_state_dict did besides copying: keys in dict order (missing: module order).
struct LoadStateReport {
    std::vector<std::string> missing;     // tolerated: non-strict, or a num_batches_tracked
    std::vector<std::string> unexpected;  // tolerated: non-strict
    std::vector<std::string> skipped;     // classifier mismatches (the module kept its values)
    std::vector<std::string> converted;   // loaded from another floating dtype
    std::vector<std::string> notes;       // one line per skip, for a log
};

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
    // Copies values into this module's tensors: the one way weights get into a module (a
    // weights file, models/weights.h, and a training checkpoint both come through here).
    // Nothing is written unless the whole dict fits; then one ValueError, one line, names every
    // mismatch, missing, unexpected and duplicate key (escaped: keys come from files).
    LoadStateReport load_state_dict(const NamedTensors& dict, const LoadStateOptions& options = {});

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

// `std::cout << module` prints module.repr(): the tree of registered children, each with its
// extra_repr(), e.g. "ResNet(\n  (conv1): Conv2d(3, 64, kernel_size=7, ...)\n  ...\n)".
std::ostream& operator<<(std::ostream& os, const Module& module);

}  // namespace cardinal
