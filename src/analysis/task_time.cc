#include "analysis/task_time.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "analysis/latency.h"
#include "analysis/window.h"
#include "record/driver_log_reader.h"

namespace agentsched::analysis {

namespace fs = std::filesystem;

namespace {

struct LlmCall {
  double start = 0, end = 0, seconds = 0;
};

struct Task {
  double start = INFINITY;
  double finished = NAN;
  bool failed = false;
  std::vector<LlmCall> llm_calls;
};

class TaskVisitor final : public LogVisitor {
 public:
  std::unordered_map<std::string, Task> tasks;

  void on_profile(const ProfileRecord& r) override {
    if (r.task.empty()) return;
    const double duration_s = std::isfinite(r.duration_ms) ? r.duration_ms / 1e3 : 0.0;
    Task& t = tasks[std::string(r.task)];
    t.start = std::min(t.start, r.unix_time - duration_s);
    if (r.type == ProfileEventType::kLlmCall)
      t.llm_calls.push_back({r.unix_time - duration_s, r.unix_time, duration_s});
  }
  void on_task_finished(const TaskFinishedRecord& r) override {
    if (r.domain.empty() || r.task_id.empty()) return;
    Task& t = tasks[std::string(r.domain) + ":" + std::string(r.task_id)];
    if (std::isnan(t.finished)) t.finished = r.unix_time;
  }
  void on_task_complete(const TaskCompleteRecord& r) override {
    if (r.status == "error")
      tasks[std::string(r.domain) + ":" + std::string(r.task_id)].failed = true;
  }
};

// The figures of compute_latency_stats (unit-agnostic: seconds in, seconds out).
TaskTimeStats stats_of(std::vector<double> seconds) {
  const LatencyStats l = compute_latency_stats(std::move(seconds));
  TaskTimeStats s;
  s.n = l.n;
  s.mean_s = l.mean;
  s.p50_s = l.p50;
  s.p90_s = l.p90;
  s.p99_s = l.p99;
  s.max_s = l.max;
  return s;
}

}  // namespace

Result<TaskTimeReport> analyze_task_times(const fs::path& run_dir, double threshold_percent) {
  if (!fs::is_directory(run_dir))
    return make_error(fmt::format("{}: no such folder", run_dir.string()));
  TaskVisitor visitor;
  auto scanned = scan_log(run_dir / "driver.log", visitor);
  if (!scanned) return scanned.error();
  TaskTimeReport report;
  ActiveWindow window;
  if (fs::exists(run_dir / "kv_cache_timeseries.csv")) {
    auto kv = read_kv_window(run_dir, threshold_percent);
    if (kv && kv->has_window) {
      window.found = true;
      window.start_unix = kv->window_start_unix;
      window.end_unix = kv->window_end_unix;
    }
  }
  report.has_window = window.found;
  std::vector<double> all, inside, later, later_inside;
  for (auto& [name, t] : visitor.tasks) {
    // Every llm_call but the task's first (earliest start; ties to the earlier end).
    std::sort(t.llm_calls.begin(), t.llm_calls.end(), [](const LlmCall& a, const LlmCall& b) {
      return a.start != b.start ? a.start < b.start : a.end < b.end;
    });
    for (std::size_t i = 1; i < t.llm_calls.size(); ++i) {
      const LlmCall& c = t.llm_calls[i];
      later.push_back(c.seconds);
      if (window.found && c.end >= window.start_unix && c.end <= window.end_unix)
        later_inside.push_back(c.seconds);
    }
    if (t.failed) {
      ++report.failed;
      continue;
    }
    if (std::isnan(t.finished) || !std::isfinite(t.start)) {
      ++report.unmeasured;
      continue;
    }
    const double seconds = std::max(0.0, t.finished - t.start);
    all.push_back(seconds);
    if (window.found && t.finished >= window.start_unix && t.finished <= window.end_unix)
      inside.push_back(seconds);
  }
  report.whole_run = stats_of(std::move(all));
  report.window = stats_of(std::move(inside));
  report.later_calls = stats_of(std::move(later));
  report.later_calls_window = stats_of(std::move(later_inside));
  return report;
}

}  // namespace agentsched::analysis
