#pragma once
// The report of `sim limit` (sim/limit.h), from the run folders alone: per concurrency, the
// curve of throughput against cap, the best cap, the ceiling (KV never runs out) and the
// given systems as fractions of both. Whole-run figures are what the comparison uses: the
// ceiling never fills its KV, so it has no active window.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "analysis/matrix_summary.h"
#include "analysis/spread.h"
#include "core/result.h"

namespace agentsched::analysis {

struct LimitInput {
  std::vector<std::pair<int, std::vector<MatrixRun>>> caps;  // cap value -> its runs
  std::vector<MatrixRun> ceiling;
  std::int64_t ceiling_kv_blocks = 0;
  std::vector<MatrixRun> systems;
  double threshold_percent = 70;
  std::string command;  // shown in the report
};

// Tasks/min of the runs of one cell (a C with a cap, or with a system), over seeds. Window
// figures are shown only when every run of the cell has an active window (a mean over the
// seeds that happen to reach the threshold would compare unlike things); `window_runs` says
// how many did.
struct LimitCell {
  Spread whole;   // over the whole run
  Spread window;  // in the active window; n = 0 unless every run has a window
  std::size_t runs = 0, window_runs = 0;
};

struct LimitCurvePoint {
  int cap = 0;
  LimitCell tasks_per_min;
};

struct LimitSystemRow {
  std::string system;
  LimitCell tasks_per_min;
  double of_best_cap = NAN;  // whole-run mean / the best cap's whole-run mean
  double of_ceiling = NAN;   // whole-run mean / the ceiling's whole-run mean
};

struct LimitRow {
  int concurrency = 0;
  std::vector<LimitCurvePoint> curve;  // in cap order
  int best_cap = 0;                    // highest whole-run mean; ties to the smaller cap
  LimitCell best;                      // the best cap's point
  Spread ceiling_whole;
  double ceiling_preemptions = 0;    // summed over the ceiling's runs
  double ceiling_peak_kv_usage = 0;  // highest sampled usage of any ceiling run, fraction
  double best_cap_of_ceiling = NAN;  // best cap's whole-run mean / the ceiling's
  std::vector<LimitSystemRow> systems;
};

struct LimitReport {
  std::vector<LimitRow> rows;  // ascending concurrency
  std::int64_t ceiling_kv_blocks = 0;
  std::string markdown;
};

Result<LimitReport> make_limit_report(const LimitInput& input);

// Writes <dir>/limit.md, <dir>/limit.json, and <dir>/limit.svg with <dir>/limit.csv (the curve:
// whole-run and window tasks/min against cap, one line per C, each C's ceiling dashed).
Status write_limit_report(const LimitReport& report, const std::filesystem::path& dir);

}  // namespace agentsched::analysis
