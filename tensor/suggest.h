// "Did you mean ...?" for error messages that reject a name (a subcommand, a model, an option).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace cardinal {

// Edit distance (insertions, deletions, substitutions, and a swap of two neighbours counting
// as one edit: "trian" is one edit from "train").
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `name`, or "" when none is close enough to be a likely typo (more
// than a third of the longer name would have to change). Ties go to the first candidate.
std::string closest_name(std::string_view name, const std::vector<std::string>& candidates);

// "; did you mean 'x'?" for the closest candidate, or "" when there is none.
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace cardinal
