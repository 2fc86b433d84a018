#pragma once
// The active window of a run (docs/reference-study.md section 4) and the work done before, inside
// and after it. Definitions (docs/analysis.md has the reasoning):
// - tasks = `FINISHED SIMULATION` records of driver.log; steps = `[PROFILE]` records with
//   `type=step_complete` of driver.log; an event's time is its line's timestamp (UTC).
// - window = first to last KV sample with usage strictly above threshold_percent / 100, over
//   the rows of every port (a row of any port above the threshold counts).
// - inside = event time in [start, end], inclusive; before < start; after > end.
// - tasks/min = tasks inside / (window seconds / 60); steps/s = steps inside / window seconds.
//   A zero-length window (one qualifying sample) has no rate: NaN here, null in JSON.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "record/driver_log_reader.h"
#include "record/kv_csv_reader.h"

namespace agentsched::analysis {

inline constexpr double kDefaultThresholdPercent = 70.0;

// The driver's closing line (GlobalSummaryRecord, kept past the scan).
struct WholeRunSummary : GlobalSummaryFigures {
  double unix_time = 0;  // of the line
  std::string line;      // the record as written
};

// What a log scan skipped, so a table can say how clean its inputs were: the scan's counts
// and the file scanned.
struct LogDiagnostics : LogScanStats {
  std::filesystem::path file;
};

// A KV CSV read: what the read found besides the samples, and a summary of the samples.
struct KvDiagnostics : KvReadStats {
  std::filesystem::path file;
  std::size_t samples = 0;  // usable kv_cache_usage_perc samples
  std::size_t samples_above_threshold = 0;
  double first_sample_unix = 0;
  double last_sample_unix = 0;
  double max_usage = 0;  // fraction
  double max_usage_unix = 0;
};

struct ActiveWindow {
  bool found = false;
  double start_unix = 0;
  double end_unix = 0;
  double seconds() const { return end_unix - start_unix; }
};

// First..last sample strictly above threshold_percent / 100 (samples of all ports).
ActiveWindow find_active_window(const std::vector<KvSample>& samples, double threshold_percent);

// Steps of one role transition (agent->env, env->agent, agent->user, user->agent, ...).
struct RoleEdgeSteps {
  std::string edge;  // "<from_role>-><to_role>"; "?" for a missing role
  std::size_t steps_in_window = 0;
  double steps_per_s = 0;  // NaN when the window has zero length
};

struct WindowReport {
  std::filesystem::path run_dir;
  double threshold_percent = kDefaultThresholdPercent;

  bool has_window = false;  // false: no KV sample above the threshold (see kv.max_usage)
  double window_start_unix = 0;
  double window_end_unix = 0;
  double window_seconds = 0;
  std::size_t tasks_in_window = 0;
  std::size_t steps_in_window = 0;
  double tasks_per_min = 0;  // NaN without a window or when window_seconds == 0
  double steps_per_s = 0;    // likewise

  // Breakdown (zero before/inside/after counts without a window: all work is "outside").
  std::size_t tasks_before = 0;
  std::size_t tasks_after = 0;
  std::size_t steps_before = 0;
  std::size_t steps_after = 0;
  std::size_t tasks_total = 0;
  std::size_t steps_total = 0;
  std::optional<double> first_task_unix;
  std::optional<double> last_task_unix;
  std::optional<double> last_step_unix;
  // last_task_unix - window_end_unix; negative when the last task ended inside the window.
  std::optional<double> gap_window_end_to_last_task_s;

  // Inside the window, ordered by steps descending (then name).
  std::vector<RoleEdgeSteps> steps_by_edge;

  std::optional<WholeRunSummary> whole_run;
  std::optional<int> max_concurrency;  // from the driver's "max_concurrency=N" line
  std::optional<int> total_tasks;      // from the driver's "total_tasks=N" line

  LogDiagnostics driver_log;
  KvDiagnostics kv;
};

// Reads <run_dir>/kv_cache_timeseries.csv and <run_dir>/driver.log (one streaming pass each).
// Errors: a missing or empty file, or a CSV without usable samples. No sample above the
// threshold is not an error here: has_window is false and the totals are still filled.
Result<WindowReport> analyze_window(const std::filesystem::path& run_dir, double threshold_percent);

// The inputs of a run as every analysis that reports them reads them: the threshold checked
// (an error unless a percentage in [0, 100]); <run_dir>'s KV CSV read, summarised into `kv`;
// a log streamed through `visitor`, summarised into `log`.
Status check_threshold_percent(double threshold_percent);
Result<KvSeries> read_kv_described(const std::filesystem::path& run_dir, double threshold_percent,
                                   KvDiagnostics& kv);
Status scan_log_described(const std::filesystem::path& file, LogVisitor& visitor,
                          LogDiagnostics& log);

// The two halves of analyze_window, for callers that scan other files meanwhile:
// read_kv_window fills the KV part and the window (counts left at zero); count_driver_log
// then streams report.run_dir/driver.log into the counts and rates.
Result<WindowReport> read_kv_window(const std::filesystem::path& run_dir, double threshold_percent);
Status count_driver_log(WindowReport& report);

// One-line explanation of why a report has no window or no rate; empty when it has both.
std::string window_problem(const WindowReport& report);

}  // namespace agentsched::analysis
