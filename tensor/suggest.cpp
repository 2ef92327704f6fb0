#include "tensor/suggest.h"

#include <algorithm>

#include "tensor/escape.h"

namespace cardinal {

size_t edit_distance(std::string_view a, std::string_view b) {
    // Optimal string alignment distance over three rows of the dynamic-programming table.
    const size_t n = b.size();
    std::vector<size_t> before(n + 1), prev(n + 1), cur(n + 1);
    for (size_t j = 0; j <= n; ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= n; ++j) {
            const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                cur[j] = std::min(cur[j], before[j - 2] + 1);
        }
        before.swap(prev);
        prev.swap(cur);
    }
    return prev[n];
}

std::string closest_name(std::string_view name, const std::vector<std::string>& candidates) {
    std::string best;
    size_t best_distance = 0;
    for (const std::string& c : candidates) {
        const size_t d = edit_distance(name, c);
        const size_t longer = std::max(name.size(), c.size());
        if (d * 3 > longer + 2) continue;  // more than about a third changed: not a typo
        if (best.empty() || d < best_distance) {
            best = c;
            best_distance = d;
        }
    }
    return best;
}

std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates) {
    const std::string best = closest_name(name, candidates);
    return best.empty() ? "" : "; did you mean '" + escape_for_message(best) + "'?";
}

}  // namespace cardinal
