#pragma once
// Latency distributions of llm_call, user_sim and expert_call (docs/reference-study.md section 4),
// read from logs/tau2_global.log (as the reference tools do), or from driver.log when the
// global log is absent or empty; the report says which file was used.
//
// Percentiles: linear interpolation between closest ranks, numpy's default: for sorted
// x[0..n-1], p_q = x[k] + (h - k) * (x[k+1] - x[k]) with h = (n - 1) * q, k = floor(h).
// A call's time is its line's timestamp (when it returned); "inside the window" means that
// time lies in [window start, window end].
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "analysis/window.h"
#include "core/result.h"

namespace agentsched::analysis {

// Milliseconds. With n == 0 every figure is NaN (null in JSON).
struct LatencyStats {
  std::size_t n = 0;
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double min = 0;
  double max = 0;
};

// Stats of `durations_ms` (taken by value: it is sorted in place).
LatencyStats compute_latency_stats(std::vector<double> durations_ms);

// q in [0, 1] of an ascending vector, by linear interpolation; NaN when empty.
double percentile_sorted(const std::vector<double>& sorted, double q);

enum class LatencyScope { kActiveWindow, kWholeRun };

struct SlowCall {
  double unix_time = 0;
  double duration_ms = 0;
  std::string task;
  int step = -1;
};

struct LatencyReport {
  LatencyScope scope = LatencyScope::kActiveWindow;
  std::filesystem::path source_file;  // the log the latencies were read from
  bool from_global_log = true;        // false: fell back to driver.log
  std::string source_note;  // why the fallback ("<global log> is absent"), if there was one
  LogDiagnostics source_log;
  LatencyStats llm_call;
  LatencyStats user_sim;
  LatencyStats expert_call;
  std::size_t llm_calls_over_300s = 0;      // duration strictly above 300,000 ms
  std::size_t llm_calls_over_1200s = 0;     // strictly above 1,200,000 ms
  std::vector<SlowCall> slowest_llm_calls;  // at most kSlowestCalls, slowest first
  static constexpr std::size_t kSlowestCalls = 10;
};

// Latencies of the run. With kActiveWindow the window is computed from the KV CSV with
// `threshold_percent`; a run without a window (no sample above the threshold) is an error
// for that scope. kWholeRun reads no CSV.
Result<LatencyReport> analyze_latencies(const std::filesystem::path& run_dir,
                                        double threshold_percent, LatencyScope scope);

// Every llm_call duration (ms) whose line time lies in [start, end], from the same log as
// analyze_latencies_in: the raw data of a latency distribution plot.
Result<std::vector<double>> read_llm_call_durations(const std::filesystem::path& run_dir,
                                                    double start_unix, double end_unix);

// Same, for a window already computed (start/end inclusive, UTC seconds).
Result<LatencyReport> analyze_latencies_in(const std::filesystem::path& run_dir, double start_unix,
                                           double end_unix);

}  // namespace agentsched::analysis
