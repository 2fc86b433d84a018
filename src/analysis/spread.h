#pragma once
// Mean and min-max of one figure over the seeds of a cell, and the rule that names the best
// system of a row (docs/analysis.md, "Winners and ties"): a system wins only when its mean
// beats every other and its min-max range clears the runner-up's; otherwise the row is a tie,
// and the verdict says why.
#include <cstddef>
#include <string>
#include <vector>

namespace agentsched::analysis {

struct Spread {
  double mean = 0, min = 0, max = 0;  // NaN when n == 0
  std::size_t n = 0;                  // finite values
};

// Over the finite values of `values` (NaN and inf are skipped: runs without a rate).
Spread spread_of(const std::vector<double>& values);

struct Candidate {
  std::string system;
  Spread value;
};

struct Verdict {
  enum class Kind { kNone, kWinner, kTieEqual, kTieOverlap };
  Kind kind = Kind::kNone;
  std::vector<std::string> systems;  // the winner, or the tied systems (best first)
  // "baseline", "tie (equal): a, b", "tie (ranges overlap): a, b"; `none_text` when no
  // candidate has a value.
  std::string text(const std::string& none_text = "n/a") const;
};

// The best of `candidates` (higher or lower values better). Candidates without a value are
// ignored. Means that print the same at `decimals` count as equal, so a table never names a
// winner among the values it shows as equal. Ranges are [min, max]; a single seed's range is
// its value, so with one seed only equal values tie. Touching ranges overlap.
Verdict decide_winner(const std::vector<Candidate>& candidates, bool higher_better, int decimals);

}  // namespace agentsched::analysis
