// gradcheck: compares the analytic backward with float64 central differences, like
// torch.autograd.gradcheck.
//
// For random cotangents v (one per output), L(x) = sum_k <v_k, f_k(x)>. Full mode perturbs
// every element x_j of every input that requires grad and compares
//     (L(x + eps e_j) - L(x - eps e_j)) / (2 eps)   with   dL/dx_j from backward,
// so every column of every Jacobian is tested against v. Fast mode replaces e_j by a few random
// directions u of unit length per input (for inputs too large to walk element by element).
// Each comparison passes when |numeric - analytic| <= atol + rtol * |numeric|. Every comparison
// is made (no early exit), so the result carries, per input, the largest errors and the worst
// element; `message` names the first mismatch: which input, which element, numeric vs analytic.
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

// The comparisons of one input that requires grad, over all cotangents.
struct GradcheckInputStats {
    size_t input = 0;      // position in `inputs`
    int64_t compared = 0;  // elements (full mode) or directions (fast mode) x cotangents
    int64_t mismatches = 0;
    double max_abs_error = 0;  // max |numeric - analytic|
    double max_rel_error = 0;  // max |numeric - analytic| / max(|numeric|, atol)
    // The comparison nearest to failing (largest |n - a| / (atol + rtol |n|); > 1 fails): an
    // element index such as "[0, 3, 1, 1]", or "direction 2" in fast mode.
    std::string worst;
    double worst_numeric = 0, worst_analytic = 0;
    bool ok() const { return mismatches == 0; }
};

struct GradcheckResult {
    bool ok = true;
    std::string message;                      // the first mismatch, or a summary when ok
    std::vector<GradcheckInputStats> inputs;  // one per input that requires grad, in order
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
