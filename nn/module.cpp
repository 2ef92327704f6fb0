#include "nn/module.h"

#include <algorithm>
#include <ostream>
#include <set>
#include <sstream>
#include <unordered_map>

#include "autograd/variable.h"
#include "tensor/escape.h"

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

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// [C, ...] against [C', ...]: the same but for the class count.
bool differs_in_classes_only(const Shape& own, const Shape& got) {
    if (own.size() != got.size() || own.empty() || own[0] == got[0]) return false;
    return std::equal(own.begin() + 1, own.end(), got.begin() + 1);
}

// "; missing keys (3): a, b, c": one line (the CLI prints errors as one line); a wrong
// architecture can list hundreds of keys, so only the first few are named.
void list_into(std::ostringstream& os, const char* what, const std::vector<std::string>& v) {
    if (v.empty()) return;
    constexpr size_t kShown = 8;
    os << "; " << what << " (" << v.size() << "): ";
    for (size_t i = 0; i < v.size() && i < kShown; ++i) os << (i ? ", " : "") << v[i];
    if (v.size() > kShown) os << ", ... (" << v.size() - kShown << " more)";
}

}  // namespace

LoadStateReport Module::load_state_dict(const NamedTensors& dict, const LoadStateOptions& options) {
    std::unordered_map<std::string, const Tensor*> given;
    std::vector<std::string> duplicates, mismatched;
    for (const auto& [n, t] : dict)
        if (!given.emplace(n, &t).second) duplicates.push_back(n);

    LoadStateReport report;
    const NamedTensors own = state_dict();
    std::set<std::string> own_names;
    std::vector<std::pair<Tensor, Tensor>> copies;  // (destination, source in its dtype)
    const std::string head_weight = options.classifier + ".weight",
                      head_bias = options.classifier + ".bias";
    for (const auto& [n, dst] : own) {
        own_names.insert(n);
        auto it = given.find(n);
        if (it == given.end()) {
            report.missing.push_back(n);
            continue;
        }
        const Tensor& src = *it->second;
        if (src.shape() != dst.shape()) {
            if (options.skip_classifier_mismatch && (n == head_weight || n == head_bias) &&
                differs_in_classes_only(dst.shape(), src.shape())) {
                report.skipped.push_back(n);
                std::ostringstream note;
                note << "skipped " << n << ": " << src.size(0) << " classes "
                     << shape_str(src.shape()) << " given, the model has " << dst.size(0) << " "
                     << shape_str(dst.shape()) << "; it keeps its initial values";
                report.notes.push_back(note.str());
                continue;
            }
            mismatched.push_back(n + ": expected shape " + shape_str(dst.shape()) + ", got " +
                                 shape_str(src.shape()));
            continue;
        }
        if (src.dtype() != dst.dtype()) {
            const bool both_floating = is_floating(src.dtype()) && is_floating(dst.dtype());
            if (!options.convert_dtype || !both_floating) {
                mismatched.push_back(n + ": expected " + dtype_name(dst.dtype()) + ", got " +
                                     dtype_name(src.dtype()));
                continue;
            }
            report.converted.push_back(n);
        }
        copies.emplace_back(dst, src);
    }
    std::vector<std::string> unexpected_shown;  // with shapes: what the extra tensors are
    for (const auto& [n, t] : dict)
        if (!own_names.count(n)) {
            report.unexpected.push_back(n);
            unexpected_shown.push_back(n + " " + shape_str(t.shape()));
        }

    std::vector<std::string> refused_missing;
    for (const auto& n : report.missing)
        if (!ends_with(n, "num_batches_tracked")) refused_missing.push_back(n);
    const bool strict_fail =
        options.strict && (!refused_missing.empty() || !report.unexpected.empty());
    if (strict_fail || !mismatched.empty() || !duplicates.empty()) {
        std::ostringstream os;
        os << "load_state_dict: " << options.source << " does not fit this " << type_name();
        list_into(os, "shape/dtype mismatches", mismatched);
        if (options.strict) {
            list_into(os, "missing keys", refused_missing);
            list_into(os, "unexpected keys", unexpected_shown);
        }
        list_into(os, "duplicate keys", duplicates);
        fail<ValueError>(escape_for_message(os.str()));  // keys and the source come from files
    }
    for (auto& [dst, src] : copies) dst.copy_(src);  // copy_ converts the dtype
    return report;
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

std::ostream& operator<<(std::ostream& os, const Module& module) { return os << module.repr(); }

}  // namespace cardinal
