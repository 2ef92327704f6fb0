// Gradcheck of a whole module: its input and each parameter tensor in turn, float64.
#pragma once
#include <functional>
#include <string>

#include "autograd/gradcheck.h"
#include "nn/module.h"

namespace cardinal::testing {

struct ModuleGradcheck {
    bool ok = true;
    std::string message;
};

// Converts `m` to float64 and checks d(out)/d(input) and d(out)/d(every parameter).
// Parameters are checked one tensor at a time (the others held fixed), so an error in a small
// tensor is not hidden by a large one. fast: random directions instead of every element.
// `before` runs before every forward (e.g. to re-seed a generator).
ModuleGradcheck gradcheck_module(Module& m, const Tensor& input, bool fast = true,
                                 const std::function<void()>& before = {});

}  // namespace cardinal::testing
