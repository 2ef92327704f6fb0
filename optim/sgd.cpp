#include "optim/sgd.h"

#include "tensor/parallel.h"

namespace cardinal {
namespace {

template <typename T>
void sgd_update(T* p, const T* g, T* buf, int64_t n, double lr, double wd, double momentum,
                double dampening, bool nesterov, bool first) {
    const T lr_t = static_cast<T>(lr), wd_t = static_cast<T>(wd), mom = static_cast<T>(momentum);
    const T keep = static_cast<T>(1.0 - dampening);
#pragma omp parallel for simd schedule(static) if (n >= kParallelGrain)
    for (int64_t i = 0; i < n; ++i) {
        T d = g[i] + wd_t * p[i];
        if (buf) {
            T b = first ? d : mom * buf[i] + keep * d;
            buf[i] = b;
            d = nesterov ? d + mom * b : b;
        }
        p[i] -= lr_t * d;
    }
}

}  // namespace

SGD::SGD(std::vector<Tensor> params, const SGDOptions& options)
    : SGD(std::vector<ParamGroup>{ParamGroup{std::move(params), {}, {}}}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& options)
    : Optimizer(std::move(groups), options.lr, options.weight_decay), options_(options) {
    validate();
}

void SGD::validate() const {
    check<ValueError>(options_.momentum >= 0, "SGD: momentum must be >= 0, got ",
                      options_.momentum);
    check<ValueError>(!options_.nesterov || (options_.momentum > 0 && options_.dampening == 0),
                      "SGD: nesterov needs momentum > 0 and dampening 0 (got momentum ",
                      options_.momentum, ", dampening ", options_.dampening, ")");
}

void SGD::update(const Group& group, int64_t index, const Tensor& p, const Tensor& g) {
    bool first = false;
    Tensor buf;
    if (options_.momentum != 0) {
        Tensor& slot = state(index, "momentum_buffer");
        if (!slot.defined()) {
            slot = empty(p.shape(), p.dtype());
            first = true;
        }
        buf = slot;
    }
    dispatch_floating(p.dtype(), "SGD", [&](auto tag) {
        using T = decltype(tag);
        p.storage()->bump_version();  // caches derived from p (reordered weights) go stale
        sgd_update<T>(p.data<T>(), g.data<T>(), buf.defined() ? buf.data<T>() : nullptr, p.numel(),
                      group.lr, group.weight_decay, options_.momentum, options_.dampening,
                      options_.nesterov, first);
    });
}

std::vector<std::pair<std::string, double>> SGD::options() const {
    return {{"momentum", options_.momentum},
            {"dampening", options_.dampening},
            {"nesterov", options_.nesterov ? 1.0 : 0.0}};
}

void SGD::set_option(const std::string& name, double value) {
    if (name == "momentum")
        options_.momentum = value;
    else if (name == "dampening")
        options_.dampening = value;
    else if (name == "nesterov")
        options_.nesterov = value != 0;
    else
        fail<ValueError>("SGD: unknown option '", name, "'");
    validate();
}

}  // namespace cardinal
