// The fixture procedure of fixture_check.h: load, build, eval forward, train forward, backward,
// then compare every recorded tensor.
#include "tests/nn/fixture_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/variable.h"
#include "io/safetensors.h"
#include "ops/arithmetic.h"
#include "ops/loss.h"
#include "ops/reduction.h"

namespace cardinal::testing {

namespace {

std::vector<std::string> json_list(const SafetensorsFile& file, const std::string& key) {
    auto it = file.metadata.find(key);
    check<FormatError>(it != file.metadata.end(), file.path, ": __metadata__ has no '", key, "'");
    nlohmann::json j = nlohmann::json::parse(it->second);
    check<FormatError>(j.is_array(), file.path, ": __metadata__.", key, " is not a JSON list");
    return j.get<std::vector<std::string>>();
}

FixtureInfo parse_info(const SafetensorsFile& file) {
    FixtureInfo info;
    auto name = file.metadata.find("name");
    info.name = name == file.metadata.end() ? file.path : name->second;
    auto spec = file.metadata.find("spec");
    check<FormatError>(spec != file.metadata.end(), file.path, ": __metadata__ has no 'spec'");
    info.spec = nlohmann::json::parse(spec->second);
    info.state_dict_keys = json_list(file, "state_dict_keys");
    info.parameter_keys = json_list(file, "parameter_keys");
    info.bn_buffer_keys = json_list(file, "bn_buffer_keys");
    return info;
}

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

const Tensor* find_named(const NamedTensors& list, const std::string& name) {
    for (const auto& [n, t] : list)
        if (n == name) return &t;
    return nullptr;
}

TensorCheck missing(const std::string& name, const std::string& why) {
    TensorCheck c;
    c.name = name;
    c.error = std::numeric_limits<double>::infinity();
    c.problem = why;
    return c;
}

}  // namespace

TensorCheck compare_tensor(const std::string& name, const Tensor& ours, const Tensor& ref,
                           double tol, double zero_atol, double zero_threshold) {
    TensorCheck c;
    c.name = name;
    c.tol = tol;
    if (!ours.defined()) return missing(name, "no value computed (undefined tensor)");
    if (ours.shape() != ref.shape()) {
        c.error = std::numeric_limits<double>::infinity();
        c.problem = "shape " + describe(ours) + ", reference " + describe(ref);
        return c;
    }
    std::vector<double> a = ours.to_vector(), b = ref.to_vector();
    if (ref.dtype() == DType::Int64) {  // counters: exact
        c.absolute = true;
        c.tol = 0;
        for (size_t i = 0; i < a.size(); ++i) c.error = std::max(c.error, std::fabs(a[i] - b[i]));
        c.ok = c.error == 0;
        for (double v : b) c.ref_max = std::max(c.ref_max, std::fabs(v));
        return c;
    }
    double diff = 0;
    bool finite = true;
    for (size_t i = 0; i < a.size(); ++i) {
        if (!std::isfinite(a[i])) finite = false;
        diff = std::max(diff, std::fabs(a[i] - b[i]));
        c.ref_max = std::max(c.ref_max, std::fabs(b[i]));
    }
    c.absolute = c.ref_max < zero_threshold;
    c.tol = c.absolute ? zero_atol : tol;
    c.error = c.absolute ? diff : diff / std::max(1.0, c.ref_max);
    if (!finite) {
        c.error = std::numeric_limits<double>::infinity();
        c.problem = "non-finite values";
    }
    c.ok = finite && c.error <= c.tol;
    return c;
}

bool FixtureReport::ok() const {
    if (!problems.empty() || checks.empty()) return false;
    return std::all_of(checks.begin(), checks.end(), [](const TensorCheck& c) { return c.ok; });
}

double FixtureReport::max_error() const {
    double m = 0;
    for (const auto& c : checks)
        if (!c.absolute) m = std::max(m, c.error);
    return m;
}

std::vector<std::string> FixtureReport::failures() const {
    std::vector<std::string> out = problems;
    for (const auto& c : checks)
        if (!c.ok) out.push_back(c.name + (c.problem.empty() ? "" : " (" + c.problem + ")"));
    return out;
}

std::string FixtureReport::summary() const {
    std::ostringstream os;
    os << "fixture " << name << " (" << path << "), " << dtype_name(dtype) << ": "
       << (ok() ? "all " + std::to_string(checks.size()) + " tensors match"
                : std::to_string(failures().size()) + " failure(s)")
       << ", max relative error " << max_error() << "\n";
    for (const auto& c : checks) {
        char line[256];
        std::snprintf(line, sizeof line, "  %-4s %-48s err %.3e (%s tol %.0e, max|ref| %.3g)",
                      c.ok ? "ok" : "FAIL", c.name.c_str(), c.error,
                      c.absolute ? "abs" : "rel", c.tol, c.ref_max);
        os << line;
        if (!c.problem.empty()) os << "  " << c.problem;
        os << "\n";
    }
    for (const auto& p : problems) os << "  FAIL " << p << "\n";
    return os.str();
}

FixtureInfo read_fixture_info(const std::string& path) {
    return parse_info(load_safetensors(path));
}

FixtureReport check_fixture(const std::string& path, const ModuleFactory& factory,
                            const FixtureCheckOptions& options) {
    SafetensorsFile file = load_safetensors(path);
    FixtureInfo info = parse_info(file);
    FixtureReport report;
    report.path = path;
    report.name = info.name;
    report.spec = info.spec;
    report.dtype = options.dtype;

    const bool f32 = options.dtype == DType::Float32;
    const double tol = options.tol > 0 ? options.tol : (f32 ? 1e-4 : 1e-10);
    const double zero_atol = options.zero_atol > 0 ? options.zero_atol : tol;
    const bool scale_zero = options.scale_zero_by_weight_grad < 0 ? f32
                                                                   : options.scale_zero_by_weight_grad > 0;
    // The scale of the terms that cancel in a zero grad.<m>.bias: max(1, max|grad.<m>.weight|).
    auto zero_scale = [&](const std::string& name) {
        const std::string suffix = ".bias";
        if (!scale_zero || !starts_with(name, "grad.") || name.size() <= suffix.size() ||
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
            return 1.0;
        std::string weight = name.substr(0, name.size() - suffix.size()) + ".weight";
        if (!file.contains(weight)) return 1.0;
        double m = 1.0;
        for (double v : file.get(weight).to_vector()) m = std::max(m, std::fabs(v));
        return m;
    };
    auto compare = [&](const std::string& name, const Tensor& ours, const Tensor& ref) {
        report.checks.push_back(compare_tensor(name, ours, ref, tol, zero_atol * zero_scale(name),
                                               options.zero_threshold));
    };

    // Models name their outputs logits_*, and differentiate the loss instead of a cotangent.
    const bool is_model = file.contains("logits_eval");
    const std::string eval_key = is_model ? "logits_eval" : "output_eval";
    const std::string train_key = is_model ? "logits_train" : "output";

    std::shared_ptr<Module> module = factory(info.spec);
    check<ValueError>(module != nullptr, path, ": the factory returned no module");
    module->to(DType::Float64);  // the stored state is float64; load refuses a dtype change
    NamedTensors state;
    for (const auto& key : info.state_dict_keys) state.emplace_back(key, file.get(key));
    module->load_state_dict(state);  // strict
    std::vector<std::string> own_params;
    for (const auto& [name, _] : module->named_parameters()) own_params.push_back(name);
    if (own_params != info.parameter_keys)
        report.problems.push_back("named_parameters() differ from the fixture's parameter_keys");
    if (f32) module->to(DType::Float32);
    Tensor input = file.get("input").to(options.dtype).clone();
    const bool cl = options.input_format == MemoryFormat::ChannelsLast && input.dim() == 4;
    if (cl) input = to_memory_format(input, MemoryFormat::ChannelsLast);
    // A channels-last run must stay channels-last: a 4-D output that came back NCHW means some
    // op inside converted (values would still match, the speed would not).
    auto check_layout = [&](const char* what, const Tensor& out) {
        if (cl && out.dim() == 4 && !is_channels_last(out))
            report.problems.push_back(std::string(what) + " is not channels-last (strides " +
                                      shape_str(out.strides()) + ")");
    };

    if (options.check_eval) {
        module->eval();
        NoGradGuard no_grad;
        Tensor out = module->forward(input);
        check_layout(eval_key.c_str(), out);
        compare(eval_key, out, file.get(eval_key));
    }

    module->train();
    module->zero_grad();
    set_requires_grad(input);
    Tensor out = module->forward(input);
    check_layout(train_key.c_str(), out);
    if (options.check_train) compare(train_key, out, file.get(train_key));

    Tensor scalar;
    if (is_model) {
        scalar = cross_entropy(out, file.get("target"));
        if (options.check_train) compare("loss", scalar, file.get("loss"));
    } else {
        scalar = sum(mul(out, file.get("grad_output").to(options.dtype)));
    }

    if (options.check_gradients) {
        backward(scalar);
        check_layout("grad.input", grad(input));
        compare("grad.input", grad(input), file.get("grad.input"));
        std::set<std::string> seen;
        for (const auto& [name, p] : module->named_parameters()) {
            std::string key = "grad." + name;
            seen.insert(key);
            if (!file.contains(key)) {
                report.problems.push_back("parameter " + name + " has no " + key + " in the fixture");
                continue;
            }
            compare(key, grad(p), file.get(key));
        }
        for (const auto& key : file.names())
            if (starts_with(key, "grad.") && key != "grad.input" && key != "grad_output" &&
                !seen.count(key))
                report.problems.push_back(key + " in the fixture matches no module parameter");
    }

    if (options.check_buffers) {
        NamedTensors own = module->state_dict();
        std::set<std::string> seen;
        for (const auto& key : file.names()) {
            if (!starts_with(key, "running_after.")) continue;
            std::string name = key.substr(std::string("running_after.").size());
            seen.insert(name);
            const Tensor* t = find_named(own, name);
            if (t == nullptr)
                report.checks.push_back(missing(key, "the module has no buffer " + name));
            else
                compare(key, *t, file.get(key));
        }
        for (const auto& name : info.bn_buffer_keys)
            if (!seen.count(name))
                report.problems.push_back("bn buffer " + name + " has no running_after entry");
    }
    return report;
}

}  // namespace cardinal::testing
