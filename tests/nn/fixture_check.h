// Fixture harness (test-side): runs a module against a reference safetensors fixture and
// compares every tensor the reference recorded.
//
// A fixture (docs/seed-forms.md section 0) holds a state dict, an `input`,
// the eval and train outputs, the gradients of the input and of every parameter, and the BN
// buffers after the one train forward. Two kinds are recognised by their key names:
//   blocks/modules: `output_eval`, `output`, `grad_output`; the scalar is sum(output * grad_output)
//   models:         `logits_eval`, `logits_train`, `target`, `loss`; the scalar is
//                   cross_entropy(logits_train, target) (mean), and `loss` is compared too.
// The procedure is the reference's: build (factory), load the state dict strictly, eval forward,
// then one train forward and one backward from zero grads, then read the BN buffers.
//
// Error of one tensor: max|ours - ref| / max(1, max|ref|) <= tol. A reference whose max |.| is
// below `zero_threshold` is mathematically zero (its value is rounding noise) and is compared
// with the absolute `zero_atol` instead (in float32 scaled by the sibling weight gradient, see
// FixtureCheckOptions). num_batches_tracked must match exactly.
//
// Use from Catch2:
//     auto report = check_fixture(path, factory);
//     INFO(report.summary());
//     CHECK(report.ok());
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/module.h"
#include "tensor/memory_format.h"
#include "tensor/tensor.h"

namespace cardinal::testing {

// Builds the module a fixture describes from its `spec` (the parsed `__metadata__.spec`, with
// `builder` and `kwargs`). Throw a cardinal::Error for a builder it does not know.
using ModuleFactory = std::function<std::shared_ptr<Module>(const nlohmann::json& spec)>;

struct FixtureCheckOptions {
    // Float64 runs the module as stored; Float32 converts module and input (Module::to) after the
    // load and compares the float32 results with the float64 references.
    DType dtype = DType::Float64;
    double tol = 0.0;        // relative tolerance; 0 means 1e-10 (float64) or 1e-4 (float32)
    double zero_atol = 0.0;  // absolute tolerance for zero references; 0 means the same as tol
    // References with max|.| below this are rounding noise of a zero. 1e-10, not 1e-12: the
    // stored noise of SplAtConv2d grad.fc1.bias reaches 7.2e-12 (docs/seed-forms.md section 0). In
    // float64
    // this changes nothing numerically (|ref| < 1 either way); it labels the check absolute.
    double zero_threshold = 1e-10;
    // A zero gradient `grad.<m>.bias` is rounding noise of terms that cancel; their size is that
    // of `grad.<m>.weight`. When set, the absolute tolerance is multiplied by
    // max(1, max|grad.<m>.weight|). Default: on for float32 only (its noise there reaches ~3e-5
    // of that scale, e.g. 7.8e-4 for SplAtConv2d fc1.bias); float64 keeps the plain absolute 1e-10.
    int scale_zero_by_weight_grad = -1;  // -1 auto (float32), 0 off, 1 on
    // The layout of the input (a 4-D input only). ChannelsLast runs the float32 NHWC fast path
    // (tensor/memory_format.h); the check then also requires the module's 4-D outputs to be
    // channels-last (the layout kept end to end, not converted back somewhere inside).
    MemoryFormat input_format = MemoryFormat::Contiguous;
    bool check_eval = true;
    bool check_train = true;      // train output (and loss for models)
    bool check_gradients = true;  // grad.input and every grad.<param>
    bool check_buffers = true;    // running_after.*
};

// One compared tensor.
struct TensorCheck {
    std::string name;    // the fixture key: output_eval, grad.conv.weight, running_after.bn.running_var
    double error = 0;    // relative (or absolute when `absolute`) error as defined above
    double ref_max = 0;  // max |ref|
    double tol = 0;
    bool absolute = false;
    bool ok = false;
    std::string problem;  // why it failed beyond the number (shape, missing gradient, NaN)
};

struct FixtureReport {
    std::string path;
    std::string name;  // __metadata__.name
    nlohmann::json spec;
    DType dtype = DType::Float64;
    std::vector<TensorCheck> checks;
    std::vector<std::string> problems;  // failures not tied to one tensor (e.g. unmatched keys)

    bool ok() const;
    double max_error() const;  // the largest relative error (absolute ones excluded)
    std::vector<std::string> failures() const;  // names of failing checks and problems
    // Every check, one per line: "  ok   grad.conv.weight  err 1.2e-15 (tol 1e-10, max|ref| 3.1)"
    std::string summary() const;
};

// Runs the whole procedure. Errors of the module itself (a throw from forward or load) propagate
// as cardinal::Error so that the test shows them.
FixtureReport check_fixture(const std::string& path, const ModuleFactory& factory,
                            const FixtureCheckOptions& options = {});

// The comparison rule on its own, for tests that compare other tensors.
TensorCheck compare_tensor(const std::string& name, const Tensor& ours, const Tensor& ref,
                           double tol, double zero_atol, double zero_threshold = 1e-10);

// A fixture's metadata, parsed (for tests that need the spec before running the check).
struct FixtureInfo {
    std::string name;
    nlohmann::json spec;
    std::vector<std::string> state_dict_keys;
    std::vector<std::string> parameter_keys;
    std::vector<std::string> bn_buffer_keys;
};
FixtureInfo read_fixture_info(const std::string& path);

}  // namespace cardinal::testing
