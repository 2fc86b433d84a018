#include "analysis/stuck.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/time_format.h"
#include "record/driver_log_reader.h"
#include "record/run_layout.h"

namespace agentsched::analysis {

namespace {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct TaskState {
  double first_event_unix = 0;
  double last_event_unix = 0;
  std::string last_event_type;
  int last_step = -1;
  std::size_t steps = 0;
};

class StuckCollector final : public LogVisitor {
 public:
  void on_profile(const ProfileRecord& record) override {
    const double t = record.unix_time;
    events_.push_back({t, record.type == ProfileEventType::kStepComplete && !record.user_judge});
    if (!last_event_ || t > *last_event_) last_event_ = t;
    if (record.type == ProfileEventType::kStepComplete && !record.user_judge &&
        (!last_step_ || t > *last_step_))
      last_step_ = t;
    if (record.task.empty()) return;
    auto it = tasks_.find(record.task);
    if (it == tasks_.end()) {
      it = tasks_.emplace(std::string(record.task), TaskState{t, t, {}, -1, 0}).first;
    }
    TaskState& state = it->second;
    state.first_event_unix = std::min(state.first_event_unix, t);
    if (t >= state.last_event_unix) {
      state.last_event_unix = t;
      state.last_event_type.assign(record.type_name);
      if (record.step >= 0) state.last_step = record.step;
    }
    if (record.type == ProfileEventType::kStepComplete) ++state.steps;
  }

  void on_task_finished(const TaskFinishedRecord& record) override {
    ++finished_;
    if (!last_good_ || record.unix_time > *last_good_) last_good_ = record.unix_time;
    ended_.insert(fmt::format("{}:{}", record.domain, record.task_id));
  }

  void on_task_complete(const TaskCompleteRecord& record) override {
    const std::string key = fmt::format("{}:{}", record.domain, record.task_id);
    if (record.status == "error" && errored_.insert(key).second) ++errored_count_;
    ended_.insert(key);
  }

  void on_global_summary(const GlobalSummaryRecord&) override { completed_ = true; }

  void on_driver_message(const DriverMessageRecord& record) override {
    if (record.message.find("total_tasks=") == std::string_view::npos) return;
    if (auto value = find_field(record.message, "total_tasks")) {
      long total = 0;
      if (std::from_chars(value->data(), value->data() + value->size(), total).ec == std::errc())
        total_tasks_ = total;
    }
  }

  struct Event {
    double unix_time;
    bool step;
  };
  std::vector<Event> events_;
  std::unordered_map<std::string, TaskState, StringHash, std::equal_to<>> tasks_;
  std::unordered_set<std::string> ended_;
  std::unordered_set<std::string> errored_;
  std::size_t errored_count_ = 0;
  std::size_t finished_ = 0;
  std::optional<double> last_good_;
  std::optional<double> last_step_;
  std::optional<double> last_event_;
  std::optional<long> total_tasks_;
  bool completed_ = false;
};

KvSpanStats span_stats(const std::vector<KvSample>& samples, double from, double to,
                       bool include_from, double threshold) {
  KvSpanStats stats;
  stats.from_unix = from;
  stats.to_unix = to;
  double sum = 0;
  stats.min = std::numeric_limits<double>::infinity();
  stats.max = -std::numeric_limits<double>::infinity();
  for (const KvSample& s : samples) {
    if (s.unix_time > to || s.unix_time < from || (!include_from && s.unix_time == from)) continue;
    ++stats.n;
    sum += s.usage;
    stats.min = std::min(stats.min, s.usage);
    stats.max = std::max(stats.max, s.usage);
    if (s.usage > threshold) ++stats.above_threshold;
  }
  if (stats.n == 0) {
    stats.min = stats.max = stats.mean = std::numeric_limits<double>::quiet_NaN();
  } else {
    stats.mean = sum / static_cast<double>(stats.n);
  }
  return stats;
}

}  // namespace

Result<StuckReport> analyze_stuck(const std::filesystem::path& run_dir, double threshold_percent,
                                  std::optional<long> expected_total, double around_seconds) {
  if (auto st = check_threshold_percent(threshold_percent); !st) return st.error();
  if (expected_total && *expected_total < 0)
    return make_error(fmt::format("expected total {} is negative", *expected_total));
  StuckReport report;
  report.run_dir = run_dir;
  report.threshold_percent = threshold_percent;
  report.around_seconds = around_seconds;

  auto series = read_kv_described(run_dir, threshold_percent, report.kv);
  if (!series) return series.error();
  StuckCollector collector;
  if (auto st = scan_log_described(run_layout::driver_log(run_dir), collector, report.driver_log);
      !st)
    return st.error();

  report.tasks_finished = collector.finished_;
  report.tasks_ended = collector.ended_.size();
  report.tasks_errored = collector.errored_count_;
  report.run_completed = collector.completed_;
  report.last_good_task_unix = collector.last_good_;
  report.last_step_unix = collector.last_step_;
  report.last_event_unix = collector.last_event_;
  report.expected_total = expected_total ? expected_total : collector.total_tasks_;

  for (auto& [task, state] : collector.tasks_) {
    if (collector.ended_.count(task) != 0) continue;
    report.unfinished.push_back({task, state.first_event_unix, state.last_event_unix,
                                 state.last_event_type, state.last_step, state.steps});
  }
  std::sort(report.unfinished.begin(), report.unfinished.end(),
            [](const UnfinishedTask& a, const UnfinishedTask& b) {
              return a.last_event_unix != b.last_event_unix ? a.last_event_unix < b.last_event_unix
                                                            : a.task < b.task;
            });
  if (report.expected_total) {
    report.tasks_missing =
        std::max<long>(0, *report.expected_total - static_cast<long>(report.tasks_ended));
    report.never_started =
        std::max<long>(0, *report.tasks_missing - static_cast<long>(report.unfinished.size()));
  }

  const double threshold = threshold_percent / 100.0;
  const double last_sample = report.kv.last_sample_unix;
  if (report.last_good_task_unix) {
    const double t = *report.last_good_task_unix;
    for (const auto& event : collector.events_) {
      if (event.unix_time > t) {
        ++report.events_after_last_good_task;
        if (event.step) ++report.steps_after_last_good_task;
      }
    }
    for (const KvSample& s : series->samples) {
      if (s.unix_time >= t - around_seconds && s.unix_time <= t + around_seconds)
        report.samples_around.push_back(s);
    }
    std::stable_sort(
        report.samples_around.begin(), report.samples_around.end(),
        [](const KvSample& a, const KvSample& b) { return a.unix_time < b.unix_time; });
    report.kv_around =
        span_stats(series->samples, t - around_seconds, t + around_seconds, true, threshold);
    report.kv_during_stall = span_stats(series->samples, t, last_sample, false, threshold);
    const double end = std::max(last_sample, report.last_event_unix.value_or(last_sample));
    report.stall_seconds = std::max(0.0, end - t);
  }

  // One line a person can act on.
  const long missing = report.tasks_missing.value_or(static_cast<long>(report.unfinished.size()));
  if (report.run_completed && report.unfinished.empty()) {
    report.diagnosis = "run completed; every started task ended";
  } else if (!report.last_good_task_unix) {
    report.diagnosis = "no task finished at all";
  } else if (missing == 0 && report.unfinished.empty()) {
    report.diagnosis = "all expected tasks ended";
  } else if (report.steps_after_last_good_task > 0) {
    report.diagnosis = fmt::format(
        "{} steps logged after the last finished task (last step {}): still working, likely "
        "waiting on slow calls",
        report.steps_after_last_good_task, format_datetime_ms(*report.last_step_unix));
  } else if (report.kv_during_stall.n > 0 && report.kv_during_stall.max < 0.05) {
    report.diagnosis = fmt::format(
        "no step and KV usage under 5% for {:.0f} s after the last finished task: stalled "
        "(waiting on remote calls that never returned, or the driver is dead)",
        report.stall_seconds.value_or(0));
  } else {
    report.diagnosis = fmt::format("no step for {:.0f} s after the last finished task",
                                   report.stall_seconds.value_or(0));
  }
  return report;
}

}  // namespace agentsched::analysis
