// Settings: an entry's option defaults overridden by --set key=value, parsed by type.
#include <algorithm>
#include <cstdlib>

#include "apps/gradcheck_catalog.h"

namespace cardinal::apps {
namespace {

bool parse_int(const std::string& s, int64_t& out) {
    if (s.empty()) return false;
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (*end != '\0') return false;
    out = v;
    return true;
}

bool parse_real(const std::string& s, double& out) {
    if (s.empty()) return false;
    char* end = nullptr;
    out = std::strtod(s.c_str(), &end);
    return *end == '\0';
}

bool parse_flag(const std::string& s, bool& out) {
    if (s == "true" || s == "1") return out = true, true;
    if (s == "false" || s == "0") return out = false, true;
    return false;
}

bool parse_ints(const std::string& s, std::vector<int64_t>& out) {
    out.clear();
    size_t start = 0;
    while (start <= s.size()) {
        const size_t comma = std::min(s.find(',', start), s.size());
        int64_t v;
        if (!parse_int(s.substr(start, comma - start), v)) return false;
        out.push_back(v);
        start = comma + 1;
    }
    return !out.empty();
}

// The type of an option is the type its default parses as.
std::string type_of(const std::string& default_value) {
    int64_t i;
    double d;
    bool b;
    std::vector<int64_t> v;
    if (parse_int(default_value, i)) return "an integer";
    if (parse_real(default_value, d)) return "a number";
    if (parse_flag(default_value, b)) return "true or false";
    if (parse_ints(default_value, v)) return "integers separated by commas";
    return "a word";
}

bool fits(const std::string& type, const std::string& value) {
    int64_t i;
    double d;
    bool b;
    std::vector<int64_t> v;
    if (type == "an integer") return parse_int(value, i);
    if (type == "a number") return parse_real(value, d);
    if (type == "true or false") return parse_flag(value, b);
    if (type == "integers separated by commas") return parse_ints(value, v);
    return !value.empty();
}

}  // namespace

Settings::Settings(std::string entry, const std::vector<CatalogOption>& options,
                   const std::vector<std::string>& assignments)
    : entry_(std::move(entry)) {
    for (const CatalogOption& o : options) {
        order_.push_back(o.key);
        values_[o.key] = o.default_value;
    }
    for (const std::string& a : assignments) {
        const size_t eq = a.find('=');
        if (eq == std::string::npos || eq == 0)
            throw UsageError("--set " + a + ": expected key=value");
        const std::string key = a.substr(0, eq), value = a.substr(eq + 1);
        auto it = values_.find(key);
        if (it == values_.end()) {
            std::string known;
            for (const std::string& k : order_) known += (known.empty() ? "" : ", ") + k;
            throw UsageError(entry_ + " has no option '" + key +
                             "' (its options: " + (known.empty() ? "none" : known) + ")");
        }
        const CatalogOption& opt =
            options[std::find(order_.begin(), order_.end(), key) - order_.begin()];
        const std::string type = type_of(opt.default_value);
        if (!fits(type, value))
            throw UsageError("--set " + a + ": " + key + " of " + entry_ + " must be " + type +
                             " (default " + opt.default_value + ")");
        it->second = value;
    }
}

int64_t Settings::integer(const std::string& key) const {
    int64_t v = 0;
    parse_int(values_.at(key), v);
    return v;
}

double Settings::real(const std::string& key) const {
    double v = 0;
    parse_real(values_.at(key), v);
    return v;
}

bool Settings::flag(const std::string& key) const {
    bool v = false;
    parse_flag(values_.at(key), v);
    return v;
}

std::vector<int64_t> Settings::integers(const std::string& key) const {
    std::vector<int64_t> v;
    parse_ints(values_.at(key), v);
    return v;
}

std::string Settings::text(const std::string& key) const { return values_.at(key); }

std::string Settings::summary() const {
    std::string s;
    for (const std::string& k : order_) s += (s.empty() ? "" : " ") + k + "=" + values_.at(k);
    return s;
}

}  // namespace cardinal::apps
