// What `cardinal gradcheck` can check: every differentiable op and every block, each with its
// options, their defaults and a default input shape. An entry builds a GradcheckCase: named
// float64 tensors (the inputs and parameters to perturb) and a forward that reads them.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "apps/exit_codes.h"
#include "autograd/gradcheck.h"
#include "nn/module.h"
#include "tensor/tensor.h"

namespace cardinal::apps {

struct CatalogOption {
    std::string key;
    std::string default_value;  // its type is the option's type: 3, 0.25, true, 3,5, conv
    std::string help;
};

// The --set values of one entry over its defaults, read with typed getters. A value that does
// not parse as the default's type is a UsageError naming the key.
class Settings {
  public:
    Settings(std::string entry, const std::vector<CatalogOption>& options,
             const std::vector<std::string>& assignments);  // "key=value" each
    int64_t integer(const std::string& key) const;
    double real(const std::string& key) const;
    bool flag(const std::string& key) const;
    std::vector<int64_t> integers(const std::string& key) const;  // "3,5"
    std::string text(const std::string& key) const;
    // "groups=2, stride=1, ..." in option order (for the report's first line).
    std::string summary() const;

  private:
    std::string entry_;
    std::vector<std::string> order_;
    std::map<std::string, std::string> values_;
};

struct GradcheckCase {
    std::vector<std::pair<std::string, Tensor>> tensors;  // checked, perturbed in place
    std::function<Tensor()> forward;                      // deterministic (re-seeds any mask)
    std::shared_ptr<Module> module;                       // blocks: keeps the module alive
    std::string note;                                     // e.g. the reduced width of a block
};

struct CatalogEntry {
    std::string name;
    std::string summary;
    Shape default_shape;
    std::vector<CatalogOption> options;
    // shape: the input shape; eval: BatchNorm from running statistics; seed: inputs, weights and
    // masks. Throws UsageError for impossible combinations.
    std::function<GradcheckCase(const Settings&, const Shape& shape, bool eval, uint64_t seed)>
        build;
    bool fast_by_default = false;  // blocks: too many parameters to walk element by element
    bool deliberately_broken = false;
};

const std::vector<CatalogEntry>& gradcheck_ops();
const std::vector<CatalogEntry>& gradcheck_blocks();
// The entry called `name` among `entries`, or a UsageError naming `kind` (op or block).
const CatalogEntry& find_entry(const std::vector<CatalogEntry>& entries, const std::string& name,
                               const std::string& kind);

struct CatalogRun {
    std::string entry, settings;  // name and "key=value ..." as run
    Shape shape;
    bool eval = false, fast = false;
    uint64_t seed = 0;
    std::vector<std::pair<std::string, Tensor>> tensors;  // as checked (names and shapes)
    GradcheckResult result;                               // result.inputs[i] is tensors[i]
    std::string note;
};

// Builds the entry's case and gradchecks every tensor of it. Impossible options (including
// the op's or block's own refusal, e.g. channels not divisible by groups) are UsageErrors.
CatalogRun run_catalog_entry(const CatalogEntry& entry, const std::vector<std::string>& assignments,
                             const Shape& shape, bool eval, bool fast, uint64_t seed);

}  // namespace cardinal::apps
