#pragma once
// Why a run did not finish (docs/reference-study.md section 7, items 3 and 4): which tasks never
// ended, when the last task finished, and what the KV cache did around then and afterwards, to tell
// a run waiting on remote calls (steps still logged) from a dead one (no step, KV idle).
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "analysis/window.h"
#include "core/result.h"
#include "record/kv_csv_reader.h"

namespace agentsched::analysis {

// A task seen in [PROFILE]/[USER_JUDGE] lines that has neither a FINISHED SIMULATION nor a
// [TAU2_TASK_COMPLETE] line.
struct UnfinishedTask {
  std::string task;  // "<domain>:<task_id>"
  double first_event_unix = 0;
  double last_event_unix = 0;
  std::string last_event_type;  // llm_call, user_sim, step_complete, ...
  int last_step = -1;
  std::size_t steps = 0;  // step_complete records
};

// KV usage (fractions) over a span of samples of all ports; n == 0 when none fell in it.
struct KvSpanStats {
  double from_unix = 0;
  double to_unix = 0;
  std::size_t n = 0;
  double min = 0;
  double mean = 0;
  double max = 0;
  std::size_t above_threshold = 0;
};

struct StuckReport {
  std::filesystem::path run_dir;
  double threshold_percent = kDefaultThresholdPercent;
  std::optional<long> expected_total;      // --expected-total, else the driver's total_tasks
  std::size_t tasks_finished = 0;          // FINISHED SIMULATION records
  std::size_t tasks_ended = 0;             // distinct tasks with FINISHED or TASK_COMPLETE
  std::size_t tasks_errored = 0;           // TASK_COMPLETE status=error
  std::optional<long> tasks_missing;       // expected_total - tasks_ended, when expected is known
  std::vector<UnfinishedTask> unfinished;  // started, never ended; oldest last event first
  std::optional<long> never_started;       // tasks_missing - unfinished.size(), when known
  bool run_completed = false;              // "Global evaluation complete" present
  std::optional<double> last_good_task_unix;  // last FINISHED SIMULATION
  std::optional<double> last_step_unix;
  std::optional<double> last_event_unix;  // last [PROFILE]/[USER_JUDGE] record of any type
  std::size_t events_after_last_good_task = 0;
  std::size_t steps_after_last_good_task = 0;
  double around_seconds = 60;
  std::vector<KvSample> samples_around;  // [last good - around, last good + around]
  KvSpanStats kv_around;
  KvSpanStats kv_during_stall;          // after the last good task to the last sample
  std::optional<double> stall_seconds;  // last sample or event (the later) - last good task
  std::string diagnosis;                // one line for people
  LogDiagnostics driver_log;
  KvDiagnostics kv;
};

// Reads driver.log and the KV CSV. `expected_total` overrides the driver's total_tasks.
Result<StuckReport> analyze_stuck(const std::filesystem::path& run_dir, double threshold_percent,
                                  std::optional<long> expected_total, double around_seconds = 60);

}  // namespace agentsched::analysis
