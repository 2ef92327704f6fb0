#include "nn/module.h"

#include <set>
#include <sstream>
#include <unordered_map>

#include "autograd/variable.h"

namespace cardinal {

void Module::check_new_name(const std::string& name) const {
    check<ValueError>(!name.empty() && name.find('.') == std::string::npos, type_name(),
                      ": invalid member name '", name, "' (must be non-empty without '.')");
    auto taken = [&](const auto& list) {
        for (const auto& [n, _] : list)
            if (n == name) return true;
        return false;
    };
    check<ValueError>(!taken(params_) && !taken(buffers_) && !taken(children_), type_name(),
                      ": member name '", name, "' registered twice");
}

Tensor Module::register_parameter(const std::string& name, const Tensor& t) {
    check_new_name(name);
    set_requires_grad(t, true);
    params_.emplace_back(name, t);
    return t;
}

Tensor Module::register_buffer(const std::string& name, const Tensor& t) {
    check_new_name(name);
    buffers_.emplace_back(name, t);
    return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
    check_new_name(name);
    check<ValueError>(m != nullptr, type_name(), ": child '", name, "' is null");
    children_.emplace_back(name, std::move(m));
}

NamedTensors Module::named_parameters(const std::string& prefix) const {
    NamedTensors out;
    for (const auto& [n, t] : params_) out.emplace_back(prefix + n, t);
    for (const auto& [n, c] : children_) {
        NamedTensors sub = c->named_parameters(prefix + n + ".");
        out.insert(out.end(), sub.begin(), sub.end());
    }
    return out;
}

NamedTensors Module::named_buffers(const std::string& prefix) const {
    NamedTensors out;
    for (const auto& [n, t] : buffers_) out.emplace_back(prefix + n, t);
    for (const auto& [n, c] : children_) {
        NamedTensors sub = c->named_buffers(prefix + n + ".");
        out.insert(out.end(), sub.begin(), sub.end());
    }
    return out;
}

std::vector<Tensor> Module::parameters() const {
    std::vector<Tensor> out;
    for (auto& [_, t] : named_parameters()) out.push_back(t);
    return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules(const std::string& prefix) {
    std::vector<std::pair<std::string, Module*>> out{{prefix, this}};
    for (const auto& [n, c] : children_) {
        auto sub = c->named_modules(prefix.empty() ? n : prefix + "." + n);
        out.insert(out.end(), sub.begin(), sub.end());
    }
    return out;
}

int64_t Module::num_parameters() const {
    int64_t n = 0;
    for (auto& [_, t] : named_parameters()) n += t.numel();
    return n;
}

NamedTensors Module::state_dict(const std::string& prefix) const {
    NamedTensors out;
    for (const auto& [n, t] : params_) out.emplace_back(prefix + n, t);
    for (const auto& [n, t] : buffers_) out.emplace_back(prefix + n, t);
    for (const auto& [n, c] : children_) {
        NamedTensors sub = c->state_dict(prefix + n + ".");
        out.insert(out.end(), sub.begin(), sub.end());
    }
    return out;
}

void Module::load_state_dict(const NamedTensors& dict, bool strict) {
    NamedTensors own = state_dict();
    std::unordered_map<std::string, const Tensor*> given;
    std::vector<std::string> duplicates, missing, unexpected, mismatched;
    for (const auto& [n, t] : dict)
        if (!given.emplace(n, &t).second) duplicates.push_back(n);
    std::set<std::string> own_names;
    for (const auto& [n, t] : own) {
        own_names.insert(n);
        auto it = given.find(n);
        if (it == given.end()) {
            bool tolerated = n.size() >= 19 && n.compare(n.size() - 19, 19, "num_batches_tracked") == 0;
            if (!tolerated) missing.push_back(n);
            continue;
        }
        const Tensor& src = *it->second;
        if (src.shape() != t.shape() || src.dtype() != t.dtype())
            mismatched.push_back(n + ": expected " + describe(t) + ", got " + describe(src));
    }
    for (const auto& [n, t] : dict)
        if (!own_names.count(n)) unexpected.push_back(n);

    auto list = [](std::ostringstream& os, const char* what, const std::vector<std::string>& v) {
        if (v.empty()) return;
        os << "\n  " << what << " (" << v.size() << "):";
        for (const auto& s : v) os << "\n    " << s;
    };
    bool bad = !mismatched.empty() || !duplicates.empty() || (strict && (!missing.empty() || !unexpected.empty()));
    if (bad) {
        std::ostringstream os;
        os << "load_state_dict: the state dict does not fit this " << type_name();
        list(os, "missing keys", strict ? missing : std::vector<std::string>{});
        list(os, "unexpected keys", strict ? unexpected : std::vector<std::string>{});
        list(os, "shape/dtype mismatches", mismatched);
        list(os, "duplicate keys", duplicates);
        fail<ValueError>(os.str());
    }
    for (const auto& [n, t] : own) {
        auto it = given.find(n);
        if (it != given.end()) t.copy_(*it->second);
    }
}

void Module::train(bool on) {
    training_ = on;
    on_train(on);
    for (auto& [_, c] : children_) c->train(on);
}

void Module::zero_grad() {
    for (auto& [_, t] : named_parameters()) cardinal::zero_grad(t);
}

void Module::to(DType dtype) {
    check<DTypeError>(is_floating(dtype), type_name(), ".to: expected a floating dtype, got ", dtype_name(dtype));
    auto convert = [&](const Tensor& t) {
        if (!is_floating(t.dtype()) || t.dtype() == dtype) return;
        Tensor c = t.to(dtype);
        // The old storage counts as written: a graph that saved t refuses to backpropagate
        // with the values it no longer has (Node::check_saved_versions).
        t.storage()->bump_version();
        TensorImpl* impl = t.unsafe_impl();  // in place, so every handle to t follows
        impl->storage = c.storage();
        impl->strides = c.strides();
        impl->offset = 0;
        impl->dtype = dtype;
        cardinal::zero_grad(t);
    };
    for (auto& [_, t] : params_) convert(t);
    for (auto& [_, t] : buffers_) convert(t);
    for (auto& [_, c] : children_) c->to(dtype);
}

void Module::repr_into(std::string& out, int indent) const {
    out += type_name() + "(";
    std::string extra = extra_repr();
    if (children_.empty()) {
        out += extra + ")";
        return;
    }
    std::string pad(indent + 2, ' ');
    if (!extra.empty()) out += "\n" + pad + extra;
    for (const auto& [n, c] : children_) {
        out += "\n" + pad + "(" + n + "): ";
        c->repr_into(out, indent + 2);
    }
    out += "\n" + std::string(indent, ' ') + ")";
}

std::string Module::repr() const {
    std::string out;
    repr_into(out, 0);
    return out;
}

}  // namespace cardinal
