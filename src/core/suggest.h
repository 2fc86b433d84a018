#pragma once
// "Did you mean ...?" for mistyped names (subcommands, options, profile keys): the known
// name closest in edit distance, when it is close enough to be the likely intent.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentsched {

// Levenshtein distance with adjacent transpositions counting as one edit ("sytem" is one
// edit from "system", "smi" one from "sim").
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word`, if within a third of its length (at least one edit) or
// if `word` is a prefix of exactly one candidate; ties go to the first candidate.
std::optional<std::string> nearest_name(std::string_view word,
                                        const std::vector<std::string>& candidates);

// " (did you mean 'X'?)" or "" when nothing is near.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace agentsched
