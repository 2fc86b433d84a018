#include "analysis/window.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "core/time_format.h"
#include "record/driver_log_reader.h"
#include "record/run_layout.h"

namespace agentsched::analysis {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::optional<int> int_field(std::string_view message, std::string_view key) {
  const auto value = find_field(message, key);
  if (!value) return std::nullopt;
  int out = 0;
  auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), out);
  if (ec != std::errc() || ptr != value->data() + value->size()) return std::nullopt;
  return out;
}

// Counts tasks and steps of driver.log against a window already known from the KV CSV.
class WindowCounter final : public LogVisitor {
 public:
  struct EdgeCount {
    std::string from;
    std::string to;
    std::size_t steps;
  };

  WindowCounter(const ActiveWindow& window, WindowReport& report)
      : LogVisitor(bit(ProfileEventType::kStepComplete)), window_(window), report_(report) {}

  void on_profile(const ProfileRecord& record) override {
    if (record.type != ProfileEventType::kStepComplete || record.user_judge) return;
    ++report_.steps_total;
    const double t = record.unix_time;
    if (!report_.last_step_unix || t > *report_.last_step_unix) report_.last_step_unix = t;
    if (count(t, report_.steps_before, report_.steps_in_window, report_.steps_after))
      count_edge(record.from_role, record.to_role);
  }

  void on_task_finished(const TaskFinishedRecord& record) override {
    ++report_.tasks_total;
    const double t = record.unix_time;
    if (!report_.first_task_unix || t < *report_.first_task_unix) report_.first_task_unix = t;
    if (!report_.last_task_unix || t > *report_.last_task_unix) report_.last_task_unix = t;
    count(t, report_.tasks_before, report_.tasks_in_window, report_.tasks_after);
  }

  void on_global_summary(const GlobalSummaryRecord& record) override {
    // A log holding several runs ends with the last one's summary.
    report_.whole_run = WholeRunSummary{record, record.unix_time, std::string(record.text)};
  }

  const std::vector<EdgeCount>& edges() const { return edges_; }

  void on_driver_message(const DriverMessageRecord& record) override {
    if (record.message.find("max_concurrency=") != std::string_view::npos) {
      if (auto c = int_field(record.message, "max_concurrency")) report_.max_concurrency = c;
      if (auto t = int_field(record.message, "total_tasks")) report_.total_tasks = t;
    }
  }

 private:
  // Counts an event at `t` before, inside or after the window (nowhere without a window);
  // true when inside.
  bool count(double t, std::size_t& before, std::size_t& inside, std::size_t& after) const {
    if (!window_.found) return false;
    if (t < window_.start_unix) {
      ++before;
      return false;
    }
    if (t > window_.end_unix) {
      ++after;
      return false;
    }
    ++inside;
    return true;
  }

  void count_edge(std::string_view from, std::string_view to) {
    if (from.empty()) from = "?";
    if (to.empty()) to = "?";
    for (auto& edge : edges_) {
      if (edge.from == from && edge.to == to) {
        ++edge.steps;
        return;
      }
    }
    edges_.push_back({std::string(from), std::string(to), 1});
  }

  const ActiveWindow& window_;
  WindowReport& report_;
  std::vector<EdgeCount> edges_;  // a handful of role pairs: a linear search beats a map
};

KvDiagnostics describe_kv(const KvSeries& series, const std::filesystem::path& file,
                          double threshold_percent) {
  KvDiagnostics kv;
  static_cast<KvReadStats&>(kv) = series;
  kv.file = file;
  kv.samples = series.samples.size();
  kv.first_sample_unix = std::numeric_limits<double>::infinity();
  kv.last_sample_unix = -std::numeric_limits<double>::infinity();
  kv.max_usage = -1.0;
  const double threshold = threshold_percent / 100.0;
  for (const KvSample& sample : series.samples) {
    kv.first_sample_unix = std::min(kv.first_sample_unix, sample.unix_time);
    kv.last_sample_unix = std::max(kv.last_sample_unix, sample.unix_time);
    if (sample.usage > kv.max_usage) {
      kv.max_usage = sample.usage;
      kv.max_usage_unix = sample.unix_time;
    }
    if (sample.usage > threshold) ++kv.samples_above_threshold;
  }
  return kv;
}

}  // namespace

Status check_threshold_percent(double threshold_percent) {
  if (!std::isfinite(threshold_percent) || threshold_percent < 0.0 || threshold_percent > 100.0)
    return make_error(
        fmt::format("threshold {} is not a percentage in [0, 100]", threshold_percent));
  return Ok{};
}

Result<KvSeries> read_kv_described(const std::filesystem::path& run_dir, double threshold_percent,
                                   KvDiagnostics& kv) {
  const auto csv_path = run_layout::kv_csv(run_dir);
  auto series = read_kv_csv(csv_path);
  if (series) kv = describe_kv(*series, csv_path, threshold_percent);
  return series;
}

Status scan_log_described(const std::filesystem::path& file, LogVisitor& visitor,
                          LogDiagnostics& log) {
  auto scanned = scan_log(file, visitor);
  if (!scanned) return scanned.error();
  log = {*scanned, file};
  return Ok{};
}

ActiveWindow find_active_window(const std::vector<KvSample>& samples, double threshold_percent) {
  // Division, not usage * 100: 70.0 / 100 is the double nearest 0.70, exactly what "0.7"
  // parses to, so a sample written as 0.7 is equal to (not above) a 70% threshold.
  const double threshold = threshold_percent / 100.0;
  ActiveWindow window;
  for (const KvSample& sample : samples) {
    if (!(sample.usage > threshold)) continue;
    if (!window.found) {
      window.found = true;
      window.start_unix = window.end_unix = sample.unix_time;
    } else {
      // Min/max rather than first/last row: rows of several ports need not be in time order.
      window.start_unix = std::min(window.start_unix, sample.unix_time);
      window.end_unix = std::max(window.end_unix, sample.unix_time);
    }
  }
  return window;
}

std::string window_problem(const WindowReport& report) {
  if (!report.has_window) {
    return fmt::format(
        "no KV sample above {}% in {} ({} usable samples, highest {:.2f}% at {} UTC)",
        report.threshold_percent, report.kv.file.string(), report.kv.samples,
        report.kv.max_usage * 100.0, format_datetime(report.kv.max_usage_unix));
  }
  if (report.window_seconds <= 0.0) {
    return fmt::format(
        "active window has zero length (only samples at {} UTC are above {}%): no rate",
        format_datetime(report.window_start_unix), report.threshold_percent);
  }
  return {};
}

Result<WindowReport> read_kv_window(const std::filesystem::path& run_dir,
                                    double threshold_percent) {
  if (auto st = check_threshold_percent(threshold_percent); !st) return st.error();
  WindowReport report;
  report.run_dir = run_dir;
  report.threshold_percent = threshold_percent;
  auto series = read_kv_described(run_dir, threshold_percent, report.kv);
  if (!series) return series.error();

  const ActiveWindow window = find_active_window(series->samples, threshold_percent);
  report.has_window = window.found;
  if (window.found) {
    report.window_start_unix = window.start_unix;
    report.window_end_unix = window.end_unix;
    report.window_seconds = window.seconds();
  }
  report.tasks_per_min = report.steps_per_s = kNaN;
  return report;
}

Status count_driver_log(WindowReport& report) {
  ActiveWindow window;
  window.found = report.has_window;
  window.start_unix = report.window_start_unix;
  window.end_unix = report.window_end_unix;

  WindowCounter counter(window, report);
  if (auto st =
          scan_log_described(run_layout::driver_log(report.run_dir), counter, report.driver_log);
      !st)
    return st;

  const bool has_rate = window.found && report.window_seconds > 0.0;
  report.tasks_per_min =
      has_rate ? static_cast<double>(report.tasks_in_window) / (report.window_seconds / 60.0)
               : kNaN;
  report.steps_per_s =
      has_rate ? static_cast<double>(report.steps_in_window) / report.window_seconds : kNaN;
  for (const auto& edge : counter.edges()) {
    report.steps_by_edge.push_back(
        {edge.from + "->" + edge.to, edge.steps,
         has_rate ? static_cast<double>(edge.steps) / report.window_seconds : kNaN});
  }
  std::sort(report.steps_by_edge.begin(), report.steps_by_edge.end(),
            [](const RoleEdgeSteps& a, const RoleEdgeSteps& b) {
              return a.steps_in_window != b.steps_in_window ? a.steps_in_window > b.steps_in_window
                                                            : a.edge < b.edge;
            });
  if (window.found && report.last_task_unix)
    report.gap_window_end_to_last_task_s = *report.last_task_unix - window.end_unix;
  return Ok{};
}

Result<WindowReport> analyze_window(const std::filesystem::path& run_dir,
                                    double threshold_percent) {
  auto report = read_kv_window(run_dir, threshold_percent);
  if (!report) return report;
  if (auto counted = count_driver_log(*report); !counted) return counted.error();
  return report;
}

}  // namespace agentsched::analysis
