#include "analysis/spread.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace agentsched::analysis {

Spread spread_of(const std::vector<double>& values) {
  Spread s;
  s.mean = s.min = s.max = std::numeric_limits<double>::quiet_NaN();
  double sum = 0;
  for (double x : values) {
    if (!std::isfinite(x)) continue;
    if (s.n == 0) {
      s.min = s.max = x;
    } else {
      s.min = std::min(s.min, x);
      s.max = std::max(s.max, x);
    }
    sum += x;
    ++s.n;
  }
  if (s.n > 0) s.mean = sum / static_cast<double>(s.n);
  return s;
}

std::string Verdict::text(const std::string& none_text) const {
  switch (kind) {
    case Kind::kNone:
      return none_text;
    case Kind::kWinner:
      return systems.front();
    case Kind::kTieEqual:
      return fmt::format("tie (equal): {}", fmt::join(systems, ", "));
    case Kind::kTieOverlap:
      return fmt::format("tie (ranges overlap): {}", fmt::join(systems, ", "));
  }
  return none_text;
}

Verdict decide_winner(const std::vector<Candidate>& candidates, bool higher_better, int decimals) {
  std::vector<const Candidate*> ranked;
  for (const auto& c : candidates)
    if (c.value.n > 0) ranked.push_back(&c);
  Verdict verdict;
  if (ranked.empty()) return verdict;
  // Stable: equal means keep the table's column order.
  std::stable_sort(ranked.begin(), ranked.end(), [&](const Candidate* a, const Candidate* b) {
    return higher_better ? a->value.mean > b->value.mean : a->value.mean < b->value.mean;
  });
  const Spread& best = ranked.front()->value;
  const std::string best_shown = fmt::format("{:.{}f}", best.mean, decimals);
  auto same_shown = [&](const Spread& s) {
    return fmt::format("{:.{}f}", s.mean, decimals) == best_shown;
  };
  auto overlaps = [&](const Spread& s) { return s.min <= best.max && best.min <= s.max; };
  bool any_overlap = false;
  verdict.systems.push_back(ranked.front()->system);
  for (std::size_t i = 1; i < ranked.size(); ++i) {
    const Spread& other = ranked[i]->value;
    if (same_shown(other)) {
      // printed the same as the best: tied whatever the ranges
    } else if (overlaps(other)) {
      any_overlap = true;
    } else {
      continue;
    }
    verdict.systems.push_back(ranked[i]->system);
  }
  if (verdict.systems.size() == 1) {
    verdict.kind = Verdict::Kind::kWinner;
  } else {
    // "equal" only when every tied system prints the same mean; any range overlap says so.
    verdict.kind = any_overlap ? Verdict::Kind::kTieOverlap : Verdict::Kind::kTieEqual;
  }
  return verdict;
}

}  // namespace agentsched::analysis
