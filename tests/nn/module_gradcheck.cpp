#include "module_gradcheck.h"

#include "autograd/variable.h"

namespace cardinal::testing {

ModuleGradcheck gradcheck_module(Module& m, const Tensor& input, bool fast, const std::function<void()>& before) {
    m.to(DType::Float64);
    Tensor x = input.to(DType::Float64).contiguous().clone();
    GradcheckOptions opt;
    opt.fast_mode = fast;
    opt.fast_directions = 3;
    opt.cotangents = 1;
    auto run = [&](const std::vector<Tensor>&) {
        if (before) before();
        return m.forward(x);
    };
    auto check_one = [&](const std::string& what, const Tensor& t) -> ModuleGradcheck {
        set_requires_grad(t, true);
        GradcheckResult r = gradcheck(std::function<Tensor(const std::vector<Tensor>&)>(run), {t}, opt);
        return {r.ok, what + ": " + r.message};
    };
    // The input first (params keep requires_grad, which gradcheck ignores: they are not inputs).
    ModuleGradcheck r = check_one("input", x);
    set_requires_grad(x, false);
    if (!r.ok) return r;
    for (const auto& [name, p] : m.named_parameters()) {
        r = check_one(name, p);
        if (!r.ok) return r;
    }
    return {true, "all tensors passed"};
}

}  // namespace cardinal::testing
