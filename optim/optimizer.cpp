#include "optim/optimizer.h"

#include <algorithm>
#include <set>

#include "autograd/grad_mode.h"
#include "autograd/variable.h"

namespace cardinal {
namespace {

// "state.12.exp_avg" -> {"state", "12", "exp_avg"}; the last part keeps any further dots.
std::vector<std::string> split_key(const std::string& key) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (int i = 0; i < 2; ++i) {
        size_t dot = key.find('.', start);
        if (dot == std::string::npos) break;
        parts.push_back(key.substr(start, dot - start));
        start = dot + 1;
    }
    parts.push_back(key.substr(start));
    return parts;
}

int64_t parse_index(const std::string& text, const std::string& key) {
    bool ok = !text.empty() && text.size() < 10 &&
              std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    check<ValueError>(ok, "optimizer load_state_dict: key '", key, "' has no valid index");
    return std::stoll(text);
}

double scalar_of(const Tensor& t, const std::string& key) {
    check<ValueError>(t.defined() && t.numel() == 1, "optimizer load_state_dict: '", key,
                      "' must hold one number, got ", describe(t));
    return t.item();
}

}  // namespace

Optimizer::Optimizer(std::vector<ParamGroup> groups, double default_lr,
                     double default_weight_decay) {
    check<ValueError>(!groups.empty(), "optimizer: no parameter groups given");
    std::set<const TensorImpl*> seen;
    for (size_t g = 0; g < groups.size(); ++g) {
        ParamGroup& pg = groups[g];
        double lr = pg.lr.value_or(default_lr);
        double wd = pg.weight_decay.value_or(default_weight_decay);
        check<ValueError>(lr >= 0, "optimizer: group ", g, " has a negative lr ", lr);
        check<ValueError>(wd >= 0, "optimizer: group ", g, " has a negative weight_decay ", wd);
        for (size_t i = 0; i < pg.params.size(); ++i) {
            const Tensor& p = pg.params[i];
            check<ValueError>(p.defined(), "optimizer: group ", g, " parameter ", i,
                              " is an undefined tensor");
            check<DTypeError>(is_floating(p.dtype()), "optimizer: group ", g, " parameter ", i,
                              " must be float32 or float64, got ", describe(p));
            check<ValueError>(p.is_contiguous(), "optimizer: group ", g, " parameter ", i,
                              " must be contiguous, got ", describe(p));
            if (!is_leaf(p))
                fail<ValueError>("optimizer: group ", g, " parameter ", i,
                                 " is not a leaf tensor (it was computed by ", grad_fn(p)->name(),
                                 ")");
            check<ValueError>(seen.insert(p.unsafe_impl()).second, "optimizer: group ", g,
                              " parameter ", i, " appears more than once");
        }
        num_params_ += static_cast<int64_t>(pg.params.size());
        groups_.push_back(Group{std::move(pg.params), lr, wd});
    }
    state_.resize(num_params_);
}

const std::vector<Tensor>& Optimizer::group_params(int64_t g) const {
    check<IndexError>(g >= 0 && g < num_groups(), "optimizer: group ", g, " out of range [0, ",
                      num_groups(), ")");
    return groups_[g].params;
}

double Optimizer::lr(int64_t g) const {
    group_params(g);
    return groups_[g].lr;
}

void Optimizer::set_lr(int64_t g, double lr) {
    group_params(g);
    check<ValueError>(lr >= 0, "optimizer: set_lr: negative lr ", lr);
    groups_[g].lr = lr;
}

double Optimizer::weight_decay(int64_t g) const {
    group_params(g);
    return groups_[g].weight_decay;
}

void Optimizer::set_weight_decay(int64_t g, double weight_decay) {
    group_params(g);
    check<ValueError>(weight_decay >= 0, "optimizer: negative weight_decay ", weight_decay);
    groups_[g].weight_decay = weight_decay;
}

void Optimizer::step() {
    NoGradGuard no_grad;
    int64_t index = 0;
    for (const Group& group : groups_) {
        for (const Tensor& p : group.params) {
            Tensor g = grad(p);
            if (g.defined()) {
                check<DTypeError>(g.dtype() == p.dtype() && g.shape() == p.shape(), name(),
                                  ": gradient ", describe(g), " does not match parameter ", index,
                                  " ", describe(p));
                update(group, index, p, g.contiguous());
            }
            ++index;
        }
    }
}

void Optimizer::zero_grad() {
    for (const Group& group : groups_)
        for (const Tensor& p : group.params) cardinal::zero_grad(p);
}

NamedTensors Optimizer::state_dict() const {
    NamedTensors out;
    for (size_t g = 0; g < groups_.size(); ++g) {
        std::string prefix = "param_groups." + std::to_string(g) + ".";
        out.emplace_back(prefix + "lr", scalar_tensor(groups_[g].lr, DType::Float64));
        out.emplace_back(prefix + "weight_decay",
                         scalar_tensor(groups_[g].weight_decay, DType::Float64));
        out.emplace_back(
            prefix + "num_params",
            scalar_tensor(static_cast<double>(groups_[g].params.size()), DType::Float64));
    }
    for (const auto& [option, value] : options())
        out.emplace_back("options." + option, scalar_tensor(value, DType::Float64));
    for (size_t i = 0; i < state_.size(); ++i)
        for (const auto& [key, t] : state_[i])
            if (t.defined()) out.emplace_back("state." + std::to_string(i) + "." + key, t.clone());
    return out;
}

void Optimizer::load_state_dict(const NamedTensors& dict) {
    // Validate everything first, then apply: a refused dict leaves the optimizer untouched.
    const std::string op = std::string(name()) + " load_state_dict";
    std::vector<const Tensor*> params;
    for (const Group& group : groups_)
        for (const Tensor& p : group.params) params.push_back(&p);
    std::vector<std::string> names = state_names();
    std::set<std::string> option_names;
    for (const auto& kv : options()) option_names.insert(kv.first);

    std::vector<double> lrs(groups_.size(), -1), wds(groups_.size(), -1);
    std::vector<std::pair<std::string, double>> new_options;
    std::vector<std::map<std::string, Tensor>> new_state(state_.size());
    int64_t groups_seen = 0;
    for (const auto& [key, value] : dict) {
        std::vector<std::string> parts = split_key(key);
        if (parts[0] == "param_groups" && parts.size() == 3) {
            int64_t g = parse_index(parts[1], key);
            check<ValueError>(g < num_groups(), op, ": '", key, "' names group ", g,
                              " but this optimizer has ", num_groups(), " groups");
            groups_seen = std::max(groups_seen, g + 1);
            double v = scalar_of(value, key);
            if (parts[2] == "lr") {
                lrs[g] = v;
            } else if (parts[2] == "weight_decay") {
                wds[g] = v;
            } else if (parts[2] == "num_params") {
                check<ValueError>(
                    v == static_cast<double>(groups_[g].params.size()), op, ": group ", g, " held ",
                    v, " parameters when saved, this one has ", groups_[g].params.size());
            } else {
                fail<ValueError>(op, ": unknown group entry '", key, "'");
            }
        } else if (parts[0] == "options" && parts.size() == 2) {
            check<ValueError>(option_names.count(parts[1]) == 1, op, ": unknown option '", key,
                              "'");
            new_options.emplace_back(parts[1], scalar_of(value, key));
        } else if (parts[0] == "state" && parts.size() == 3) {
            int64_t i = parse_index(parts[1], key);
            check<ValueError>(i < num_params_, op, ": '", key, "' names parameter ", i,
                              " but this optimizer has ", num_params_, " parameters");
            check<ValueError>(std::find(names.begin(), names.end(), parts[2]) != names.end(), op,
                              ": unknown state '", key, "' for ", name());
            check<ValueError>(value.defined(), op, ": '", key, "' is an undefined tensor");
            const Tensor& p = *params[i];
            if (parts[2] == "step") {
                new_state[i][parts[2]] = scalar_tensor(scalar_of(value, key), DType::Float64);
            } else {
                check<ShapeError>(value.shape() == p.shape(), op, ": '", key, "' has shape ",
                                  shape_str(value.shape()), " but parameter ", i, " has shape ",
                                  shape_str(p.shape()));
                check<DTypeError>(is_floating(value.dtype()), op, ": '", key,
                                  "' must be floating, got ", describe(value));
                Tensor copy = empty(p.shape(), p.dtype());
                copy.copy_(value);
                new_state[i][parts[2]] = copy;
            }
        } else {
            fail<ValueError>(op, ": unexpected key '", key, "'");
        }
    }
    check<ValueError>(groups_seen == num_groups(), op, ": the saved state has ", groups_seen,
                      " parameter groups, this optimizer has ", num_groups());
    for (size_t g = 0; g < groups_.size(); ++g)
        check<ValueError>(lrs[g] >= 0 && wds[g] >= 0, op, ": group ", g,
                          " lacks a valid lr or weight_decay entry");
    check<ValueError>(new_options.size() == option_names.size(), op, ": expected ",
                      option_names.size(), " options, got ", new_options.size());

    for (size_t g = 0; g < groups_.size(); ++g) {
        groups_[g].lr = lrs[g];
        groups_[g].weight_decay = wds[g];
    }
    for (const auto& [option, value] : new_options) set_option(option, value);
    state_ = std::move(new_state);
}

}  // namespace cardinal
