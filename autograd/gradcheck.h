// gradcheck: compares the analytic backward with float64 central differences, like
// torch.autograd.gradcheck.
//
// For random cotangents v (one per output), L(x) = sum_k <v_k, f_k(x)>. Full mode perturbs
// every element x_j of every input that requires grad and compares
//     (L(x + eps e_j) - L(x - eps e_j)) / (2 eps)   with   dL/dx_j from backward,
// so every column of every Jacobian is tested against v. Fast mode replaces e_j by a few random
// directions u over all inputs at once (for inputs too large to walk element by element).
// A mismatch reports which input, which element, numeric vs analytic.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace cardinal {

struct GradcheckOptions {
    double eps = 1e-6;
    double atol = 1e-5;
    double rtol = 1e-3;
    bool fast_mode = false;
    int fast_directions = 4;  // random directions in fast mode
    int cotangents = 2;       // random v per output (each costs one backward)
    uint64_t seed = 1234;
};

struct GradcheckResult {
    bool ok = true;
    std::string message;  // the first mismatch, or a summary when ok
    explicit operator bool() const { return ok; }
};

using GradcheckFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

// `inputs` must be float64; those that require grad are checked. `fn` must be deterministic
// (re-seed any randomness inside it).
GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});
// Single-output convenience form.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace cardinal
