#pragma once
// Task completion time: what a user of an agentic service waits for. A task's time runs from
// its first request leaving the client -- the end of its first logged event minus that
// event's duration (the user simulator's opening message, or the first LLM call) -- to its
// FINISHED SIMULATION line, gateway holds and every wait included. Read from driver.log alone,
// so the reference's runs get it too. Only tasks that finished (ok) have a completion time;
// tasks that ended in an error are counted apart. "In the window": finished inside the active
// window, as the window's task count is.
#include <cstddef>
#include <filesystem>

#include "core/result.h"

namespace agentsched::analysis {

struct TaskTimeStats {
  std::size_t n = 0;
  double mean_s = 0, p50_s = 0, p90_s = 0, p99_s = 0, max_s = 0;  // NaN when n == 0
};

struct TaskTimeReport {
  TaskTimeStats whole_run;
  bool has_window = false;
  TaskTimeStats window;        // NaN figures without a window
  std::size_t failed = 0;      // tasks that ended in an error
  std::size_t unmeasured = 0;  // tasks whose first event or FINISHED line is not in the log
  // llm_call durations over every call but each task's first (the one a gateway that admits
  // programs may hold): what a running task sees of the engine. Whole run, and the calls that
  // ended in the active window. Every task's calls count, failed tasks' included.
  TaskTimeStats later_calls;
  TaskTimeStats later_calls_window;  // NaN figures without a window
};

// `threshold_percent` picks the active window from kv_cache_timeseries.csv; a run without
// the CSV (or without a sample above the threshold) gets whole-run figures only.
Result<TaskTimeReport> analyze_task_times(const std::filesystem::path& run_dir,
                                          double threshold_percent);

}  // namespace agentsched::analysis
