// The ops `cardinal gradcheck --op` knows: each builds its float64 inputs and weights from
// --shape, --set and --seed. Drop ops re-seed their generator before every forward, so the
// mask is fixed and the function is differentiable.
#include <cmath>

#include "apps/gradcheck_catalog.h"
#include "autograd/function.h"
#include "autograd/variable.h"
#include "ops/ops.h"
#include "tensor/kernels.h"
#include "tensor/random.h"

namespace cardinal::apps {
namespace {

template <typename... Args>
void require(bool cond, const Args&... parts) {
    if (!cond) fail<UsageError>(parts...);
}

void require_rank(const std::string& op, const Shape& shape, size_t rank, const char* letters) {
    require(shape.size() == rank, op, " needs --shape ", letters, " (", rank, " numbers), got ",
            shape_str(shape));
}

// Random float64 leaves that require grad, drawn from one generator per case.
struct Inputs {
    explicit Inputs(uint64_t seed) : gen(seed) {}
    Tensor add(GradcheckCase& c, const std::string& name, const Shape& shape, double low = 0,
               double high = 0) {
        Tensor t = low == high ? randn(shape, DType::Float64, &gen)
                               : uniform(shape, low, high, DType::Float64, &gen);
        set_requires_grad(t);
        c.tensors.push_back({name, t});
        return t;
    }
    Generator gen;
};

Size2 pair(int64_t v) { return {v, v}; }

// One-input elementwise or reduction op: f(x). low/high: the input's range (0, 0: normal).
CatalogEntry unary(std::string name, std::string summary, Tensor (*f)(const Tensor&),
                   double low = 0, double high = 0) {
    return {name,
            summary,
            {2, 3, 4, 4},
            {},
            [f, low, high](const Settings&, const Shape& shape, bool, uint64_t seed) {
                GradcheckCase c;
                Inputs in(seed);
                Tensor x = in.add(c, "input", shape, low, high);
                c.forward = [f, x] { return f(x); };
                return c;
            }};
}

CatalogEntry conv_entry(bool rectified) {
    std::vector<CatalogOption> options = {
        {"out", "4", "output channels"},
        {"kernel", "3", "kernel size (square)"},
        {"stride", "1", "stride"},
        {"padding", "1", "zero padding"},
        {"dilation", "1", "dilation"},
        {"groups", "1", "groups (cardinality); divides in and out"},
        {"bias", "true", "with a bias"}};
    if (rectified)
        options.push_back({"average", "false", "rectify_avg: divide by the in-bounds tap count"});
    const std::string name = rectified ? "rectified_conv2d" : "conv2d";
    return {name,
            rectified ? "ResNeSt's rectified convolution: conv2d rescaled by the in-bounds taps"
                      : "2-D convolution, any groups / stride / padding / dilation",
            {2, 4, 5, 5},
            options,
            [rectified, name](const Settings& s, const Shape& shape, bool, uint64_t seed) {
                require_rank(name, shape, 4, "N,C,H,W");
                const int64_t C = shape[1], out = s.integer("out"), k = s.integer("kernel"),
                              groups = s.integer("groups");
                require(groups >= 1, name, ": groups must be at least 1, got ", groups);
                require(C % groups == 0, name, ": the input's ", C,
                        " channels are not divisible by groups=", groups);
                require(out % groups == 0, name, ": out=", out,
                        " is not divisible by groups=", groups);
                GradcheckCase c;
                Inputs in(seed);
                Tensor x = in.add(c, "input", shape);
                Tensor w = in.add(c, "weight", {out, C / groups, k, k});
                Tensor b = s.flag("bias") ? in.add(c, "bias", {out}) : Tensor();
                Conv2dParams p{pair(s.integer("stride")), pair(s.integer("padding")),
                               pair(s.integer("dilation")), groups};
                const bool average = rectified && s.flag("average");
                c.forward = [=] {
                    return rectified ? rectified_conv2d(x, w, b, p, average) : conv2d(x, w, b, p);
                };
                return c;
            }};
}

CatalogEntry batch_norm_entry() {
    return {"batch_norm2d",
            "BatchNorm2d: batch statistics (train) or running statistics (--eval)",
            {3, 4, 3, 3},
            {{"eps", "1e-5", "added to the variance"}},
            [](const Settings& s, const Shape& shape, bool eval, uint64_t seed) {
                require_rank("batch_norm2d", shape, 4, "N,C,H,W");
                GradcheckCase c;
                Inputs in(seed);
                Tensor x = in.add(c, "input", shape);
                Tensor w = in.add(c, "weight", {shape[1]});
                Tensor b = in.add(c, "bias", {shape[1]});
                // Running statistics away from 0 and 1, so eval mode tests their use.
                Tensor rm = randn({shape[1]}, DType::Float64, &in.gen);
                Tensor rv = uniform({shape[1]}, 0.5, 2.0, DType::Float64, &in.gen);
                const double eps = s.real("eps");
                c.forward = [=] {
                    return batch_norm2d(x, w, b, rm.clone(), rv.clone(), !eval, 0.1, eps);
                };
                return c;
            }};
}

CatalogEntry pool_entry(const std::string& name, bool is_max) {
    std::vector<CatalogOption> options = {{"kernel", "3", "window size"},
                                          {"stride", "2", "stride"},
                                          {"padding", "1", "implicit padding"},
                                          {"ceil_mode", "false", "round the output size up"}};
    if (is_max)
        options.push_back({"dilation", "1", "window dilation"});
    else
        options.push_back(
            {"count_include_pad", "true", "divide by the whole window, padding included"});
    return {name,
            is_max ? "max pooling (the gradient goes to each window's maximum)" : "average pooling",
            {2, 3, 6, 6},
            options,
            [name, is_max](const Settings& s, const Shape& shape, bool, uint64_t seed) {
                require_rank(name, shape, 4, "N,C,H,W");
                const int64_t k = s.integer("kernel"), pad = s.integer("padding");
                require(2 * pad <= k, name, ": padding=", pad,
                        " must be at most half of kernel=", k);
                GradcheckCase c;
                Inputs in(seed);
                Tensor x = in.add(c, "input", shape);
                const Size2 kk = pair(k), st = pair(s.integer("stride")), pp = pair(pad);
                const bool ceil = s.flag("ceil_mode");
                if (is_max) {
                    const Size2 dil = pair(s.integer("dilation"));
                    c.forward = [=] { return max_pool2d(x, kk, st, pp, dil, ceil); };
                } else {
                    const bool include = s.flag("count_include_pad");
                    c.forward = [=] { return avg_pool2d(x, kk, st, pp, ceil, include); };
                }
                return c;
            }};
}

CatalogEntry adaptive_entry(const std::string& name, bool is_max) {
    return {name,
            is_max ? "adaptive max pooling to out_h x out_w"
                   : "adaptive average pooling to out_h x out_w",
            {2, 3, 5, 7},
            {{"out_h", "2", "output height"}, {"out_w", "3", "output width"}},
            [name, is_max](const Settings& s, const Shape& shape, bool, uint64_t seed) {
                require_rank(name, shape, 4, "N,C,H,W");
                GradcheckCase c;
                Inputs in(seed);
                Tensor x = in.add(c, "input", shape);
                const Size2 out{s.integer("out_h"), s.integer("out_w")};
                c.forward = [=] {
                    return is_max ? adaptive_max_pool2d(x, out) : adaptive_avg_pool2d(x, out);
                };
                return c;
            }};
}

CatalogEntry softmax_entry(const std::string& name, bool log) {
    return {name,
            log ? "log-softmax along dim" : "softmax along dim: dL/dx = y * (g - sum(g * y))",
            {2, 4, 3},
            {{"dim", "1", "the dimension normalised over"}},
            [name, log](const Settings& s, const Shape& shape, bool, uint64_t seed) {
                const int64_t dim = s.integer("dim"), rank = static_cast<int64_t>(shape.size());
                require(dim >= -rank && dim < rank, name, ": dim=", dim,
                        " is out of range for --shape ", shape_str(shape));
                GradcheckCase c;
                Inputs in(seed);
                Tensor x = in.add(c, "input", shape);
                c.forward = [=] { return log ? log_softmax(x, dim) : softmax(x, dim); };
                return c;
            }};
}

enum class Drop { Dropout, Block, Path };

CatalogEntry drop_entry(const std::string& name, Drop kind) {
    std::vector<CatalogOption> options = {
        {"p", kind == Drop::Block ? "0.2" : "0.5", "drop probability"}};
    if (kind == Drop::Block) options.push_back({"block_size", "3", "side of each dropped square"});
    const char* summary =
        kind == Drop::Dropout ? "dropout with a fixed mask (re-seeded every forward)"
        : kind == Drop::Block ? "DropBlock with a fixed mask (re-seeded every forward)"
                              : "drop path (stochastic depth) with a fixed mask";
    return {name,
            summary,
            {4, 3, 6, 6},
            options,
            [name, kind](const Settings& s, const Shape& shape, bool, uint64_t seed) {
                const double p = s.real("p");
                require(p >= 0 && p < 1, name, ": p must be in [0, 1), got ", p);
                if (kind == Drop::Block) require_rank(name, shape, 4, "N,C,H,W");
                GradcheckCase c;
                Inputs in(seed);
                Tensor x = in.add(c, "input", shape);
                const int64_t block = kind == Drop::Block ? s.integer("block_size") : 0;
                c.forward = [=] {
                    Generator mask(seed + 1);  // the same mask in every forward
                    if (kind == Drop::Dropout) return dropout(x, p, true, &mask);
                    if (kind == Drop::Block) return drop_block2d(x, p, block, true, &mask);
                    return drop_path(x, p, true, &mask);
                };
                return c;
            }};
}

CatalogEntry linear_entry() {
    return {"linear",
            "y = x W^T + b",
            {3, 5},
            {{"out", "4", "output features"}, {"bias", "true", "with a bias"}},
            [](const Settings& s, const Shape& shape, bool, uint64_t seed) {
                require(!shape.empty(), "linear needs --shape with the features last");
                GradcheckCase c;
                Inputs in(seed);
                Tensor x = in.add(c, "input", shape);
                Tensor w = in.add(c, "weight", {s.integer("out"), shape.back()});
                Tensor b = s.flag("bias") ? in.add(c, "bias", {s.integer("out")}) : Tensor();
                c.forward = [=] { return linear(x, w, b); };
                return c;
            }};
}

// x * y or x / y with y broadcast as SE's gate is: [N, C, 1, 1] against [N, C, H, W].
CatalogEntry binary_entry(const std::string& name, bool divide) {
    return {name,
            divide ? "x / y (y broadcast per channel when broadcast=channel)"
                   : "x * y (y broadcast per channel when broadcast=channel, as SE's gate)",
            {2, 3, 4, 4},
            {{"broadcast", "channel", "channel: y is [N, C, 1, 1]; none: y has x's shape"}},
            [name, divide](const Settings& s, const Shape& shape, bool, uint64_t seed) {
                const std::string mode = s.text("broadcast");
                require(mode == "channel" || mode == "none", name,
                        ": broadcast must be channel or none, got '", mode, "'");
                if (mode == "channel") require_rank(name, shape, 4, "N,C,H,W");
                GradcheckCase c;
                Inputs in(seed);
                Tensor x = in.add(c, "x", shape);
                const Shape ys = mode == "channel" ? Shape{shape[0], shape[1], 1, 1} : shape;
                Tensor y = divide ? in.add(c, "y", ys, 0.5, 2.0) : in.add(c, "y", ys);
                c.forward = [=] { return divide ? div(x, y) : mul(x, y); };
                return c;
            }};
}

CatalogEntry reduce_entry(const std::string& name) {
    return {
        name,
        name == "max" ? "max along dim (the gradient goes to the maximum)" : name + " over dims",
        {2, 3, 4, 4},
        {{name == "max" ? "dim" : "dims", name == "max" ? "1" : "2,3", "reduced dimension(s)"},
         {"keepdim", "false", "keep reduced dimensions as size 1"}},
        [name](const Settings& s, const Shape& shape, bool, uint64_t seed) {
            const int64_t rank = static_cast<int64_t>(shape.size());
            const std::vector<int64_t> dims = s.integers(name == "max" ? "dim" : "dims");
            for (int64_t d : dims)
                require(d >= -rank && d < rank, name, ": dim ", d, " is out of range for --shape ",
                        shape_str(shape));
            require(name != "max" || dims.size() == 1, "max: dim takes one dimension");
            GradcheckCase c;
            Inputs in(seed);
            Tensor x = in.add(c, "input", shape);
            const bool keep = s.flag("keepdim");
            c.forward = [=] {
                if (name == "max") return max(x, dims[0], keep);
                return name == "sum" ? sum(x, dims, keep) : mean(x, dims, keep);
            };
            return c;
        }};
}

CatalogEntry pow_entry() {
    return {"pow",
            "x^exponent (x in [0.5, 2])",
            {2, 3, 4},
            {{"exponent", "3.0", "the power"}},
            [](const Settings& s, const Shape& shape, bool, uint64_t seed) {
                GradcheckCase c;
                Inputs in(seed);
                Tensor x = in.add(c, "input", shape, 0.5, 2.0);
                const double e = s.real("exponent");
                c.forward = [=] { return pow(x, e); };
                return c;
            }};
}

CatalogEntry cross_entropy_entry() {
    return {"cross_entropy",
            "mean cross entropy of logits [N, classes] against random targets",
            {4, 5},
            {{"label_smoothing", "0.0", "in [0, 1)"}},
            [](const Settings& s, const Shape& shape, bool, uint64_t seed) {
                require_rank("cross_entropy", shape, 2, "N,classes");
                const double ls = s.real("label_smoothing");
                require(ls >= 0 && ls < 1, "cross_entropy: label_smoothing must be in [0, 1), got ",
                        ls);
                GradcheckCase c;
                Inputs in(seed);
                Tensor x = in.add(c, "logits", shape);
                Tensor t = randint(0, shape[1], {shape[0]}, &in.gen);
                c.forward = [=] { return cross_entropy(x, t, Reduction::Mean, ls); };
                return c;
            }};
}

CatalogEntry mse_entry() {
    return {"mse_loss",
            "mean squared error against a random target",
            {3, 4},
            {},
            [](const Settings&, const Shape& shape, bool, uint64_t seed) {
                GradcheckCase c;
                Inputs in(seed);
                Tensor x = in.add(c, "input", shape);
                Tensor target = randn(shape, DType::Float64, &in.gen);
                c.forward = [=] { return mse_loss(x, target); };
                return c;
            }};
}

// ---- the deliberately broken op ---------------------------------------------------------
// sigmoid whose backward uses y (1 + y) instead of y (1 - y): recorded exactly like the real
// op, so only the numbers can tell. `cardinal gradcheck --op broken_sigmoid` must fail.
struct BrokenSigmoidBackward : Node {
    Tensor saved_y_;
    std::string name() const override { return "BrokenSigmoidBackward"; }
    std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
        return {kernels::mul(g[0], kernels::mul(saved_y_, kernels::add_scalar(saved_y_, 1.0)))};
    }
    void release() override { saved_y_ = Tensor(); }
    size_t saved_bytes() const override { return saved_bytes_of(saved_y_); }
};

Tensor broken_sigmoid(const Tensor& x) {
    Tensor y;
    {
        NoGradGuard no_grad;
        y = sigmoid(x);
    }
    if (auto node = make_node<BrokenSigmoidBackward>({x})) {
        node->saved_y_ = node->save(y);
        record(node, {y});
    }
    return y;
}

Tensor positive_log(const Tensor& x) { return log(x); }
Tensor positive_sqrt(const Tensor& x) { return sqrt(x); }

}  // namespace

const std::vector<CatalogEntry>& gradcheck_ops() {
    static const std::vector<CatalogEntry> ops = [] {
        std::vector<CatalogEntry> v = {
            conv_entry(false),
            conv_entry(true),
            batch_norm_entry(),
            pool_entry("max_pool2d", true),
            pool_entry("avg_pool2d", false),
            adaptive_entry("adaptive_avg_pool2d", false),
            adaptive_entry("adaptive_max_pool2d", true),
            unary("global_avg_pool2d", "mean over H and W, keeping [N, C, 1, 1]",
                  global_avg_pool2d),
            unary("relu", "max(x, 0)", relu),
            unary("sigmoid", "1 / (1 + exp(-x)): dL/dx = g * y * (1 - y)", sigmoid),
            unary("tanh", "tanh(x): dL/dx = g * (1 - y^2)", tanh),
            softmax_entry("softmax", false),
            softmax_entry("log_softmax", true),
            drop_entry("dropout", Drop::Dropout),
            drop_entry("drop_block2d", Drop::Block),
            drop_entry("drop_path", Drop::Path),
            linear_entry(),
            binary_entry("mul", false),
            binary_entry("div", true),
            unary("exp", "e^x", exp),
            unary("log", "natural log (x in [0.5, 2])", positive_log, 0.5, 2.0),
            unary("sqrt", "square root (x in [0.5, 2])", positive_sqrt, 0.5, 2.0),
            pow_entry(),
            reduce_entry("sum"),
            reduce_entry("mean"),
            reduce_entry("max"),
            cross_entropy_entry(),
            mse_entry(),
        };
        CatalogEntry broken =
            unary("broken_sigmoid", "sigmoid with a deliberately wrong backward: must FAIL",
                  broken_sigmoid);
        broken.deliberately_broken = true;
        v.push_back(broken);
        return v;
    }();
    return ops;
}

}  // namespace cardinal::apps
