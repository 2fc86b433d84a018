#include "analysis/latency.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "record/driver_log_reader.h"
#include "record/run_layout.h"

namespace agentsched::analysis {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kOver300sMs = 300'000.0;
constexpr double kOver1200sMs = 1'200'000.0;

// Collects call durations whose line time lies in [start, end]; keeps the slowest llm_calls
// in a small min-heap so only kSlowestCalls task names are ever copied.
class LatencyCollector final : public LogVisitor {
 public:
  LatencyCollector(double start_unix, double end_unix)
      : LogVisitor(bit(ProfileEventType::kLlmCall) | bit(ProfileEventType::kUserSim) |
                   bit(ProfileEventType::kExpertCall)),
        start_(start_unix),
        end_(end_unix) {}

  void on_profile(const ProfileRecord& record) override {
    const double t = record.unix_time;
    if (t < start_ || t > end_) return;
    switch (record.type) {
      case ProfileEventType::kLlmCall:
        llm_.push_back(record.duration_ms);
        if (record.duration_ms > kOver300sMs) ++over_300s_;
        if (record.duration_ms > kOver1200sMs) ++over_1200s_;
        offer_slow_call(record);
        break;
      case ProfileEventType::kUserSim:
        user_.push_back(record.duration_ms);
        break;
      case ProfileEventType::kExpertCall:
        expert_.push_back(record.duration_ms);
        break;
      default:
        break;
    }
  }

  std::vector<double> take_llm_durations() { return std::move(llm_); }

  void fill(LatencyReport& report) {
    report.llm_call = compute_latency_stats(std::move(llm_));
    report.user_sim = compute_latency_stats(std::move(user_));
    report.expert_call = compute_latency_stats(std::move(expert_));
    report.llm_calls_over_300s = over_300s_;
    report.llm_calls_over_1200s = over_1200s_;
    std::sort(slow_.begin(), slow_.end(), slower);
    report.slowest_llm_calls = std::move(slow_);
  }

 private:
  // Slower first; equal durations: earlier first, so the order is deterministic.
  static bool slower(const SlowCall& a, const SlowCall& b) {
    if (a.duration_ms != b.duration_ms) return a.duration_ms > b.duration_ms;
    if (a.unix_time != b.unix_time) return a.unix_time < b.unix_time;
    return a.task < b.task;
  }

  void offer_slow_call(const ProfileRecord& record) {
    // slow_ is a heap whose front is the fastest of the kept calls (slower() as "less").
    if (slow_.size() == LatencyReport::kSlowestCalls) {
      const SlowCall& fastest_kept = slow_.front();
      if (record.duration_ms < fastest_kept.duration_ms ||
          (record.duration_ms == fastest_kept.duration_ms &&
           record.unix_time >= fastest_kept.unix_time))
        return;
      std::pop_heap(slow_.begin(), slow_.end(), slower);
      slow_.pop_back();
    }
    slow_.push_back(
        SlowCall{record.unix_time, record.duration_ms, std::string(record.task), record.step});
    std::push_heap(slow_.begin(), slow_.end(), slower);
  }

  double start_;
  double end_;
  std::vector<double> llm_;
  std::vector<double> user_;
  std::vector<double> expert_;
  std::size_t over_300s_ = 0;
  std::size_t over_1200s_ = 0;
  std::vector<SlowCall> slow_;
};

}  // namespace

double percentile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return kNaN;
  const double h = static_cast<double>(sorted.size() - 1) * q;
  const auto k = static_cast<std::size_t>(std::floor(h));
  if (k + 1 >= sorted.size()) return sorted.back();
  return sorted[k] + (h - static_cast<double>(k)) * (sorted[k + 1] - sorted[k]);
}

LatencyStats compute_latency_stats(std::vector<double> durations_ms) {
  LatencyStats stats;
  stats.n = durations_ms.size();
  if (durations_ms.empty()) {
    stats.mean = stats.p50 = stats.p90 = stats.p99 = stats.min = stats.max = kNaN;
    return stats;
  }
  std::sort(durations_ms.begin(), durations_ms.end());
  stats.mean =
      std::accumulate(durations_ms.begin(), durations_ms.end(), 0.0) / static_cast<double>(stats.n);
  stats.p50 = percentile_sorted(durations_ms, 0.50);
  stats.p90 = percentile_sorted(durations_ms, 0.90);
  stats.p99 = percentile_sorted(durations_ms, 0.99);
  stats.min = durations_ms.front();
  stats.max = durations_ms.back();
  return stats;
}

namespace {

// The global log when it exists and holds something, else driver.log (with the reason).
void choose_latency_source(const std::filesystem::path& run_dir, LatencyReport& report) {
  const auto global_log = run_layout::global_log(run_dir);
  std::error_code ec;
  const bool global_exists = std::filesystem::is_regular_file(global_log, ec);
  const bool global_usable = global_exists && std::filesystem::file_size(global_log, ec) > 0;
  if (global_usable) {
    report.source_file = global_log;
    report.from_global_log = true;
  } else {
    report.source_file = run_layout::driver_log(run_dir);
    report.from_global_log = false;
    report.source_note =
        fmt::format("{} {}", global_log.string(), global_exists ? "is empty" : "is absent");
  }
}

}  // namespace

Result<std::vector<double>> read_llm_call_durations(const std::filesystem::path& run_dir,
                                                    double start_unix, double end_unix) {
  LatencyReport source;
  choose_latency_source(run_dir, source);
  LatencyCollector collector(start_unix, end_unix);
  auto scanned = scan_log(source.source_file, collector);
  if (!scanned) return scanned.error();
  return collector.take_llm_durations();
}

Result<LatencyReport> analyze_latencies_in(const std::filesystem::path& run_dir, double start_unix,
                                           double end_unix) {
  LatencyReport report;
  choose_latency_source(run_dir, report);
  LatencyCollector collector(start_unix, end_unix);
  if (auto st = scan_log_described(report.source_file, collector, report.source_log); !st)
    return st.error();
  collector.fill(report);
  return report;
}

Result<LatencyReport> analyze_latencies(const std::filesystem::path& run_dir,
                                        double threshold_percent, LatencyScope scope) {
  if (scope == LatencyScope::kWholeRun) {
    auto report = analyze_latencies_in(run_dir, -std::numeric_limits<double>::infinity(),
                                       std::numeric_limits<double>::infinity());
    if (report) report->scope = LatencyScope::kWholeRun;
    return report;
  }
  auto window = analyze_window(run_dir, threshold_percent);
  if (!window) return window.error();
  if (!window->has_window) return make_error(window_problem(*window));
  auto report = analyze_latencies_in(run_dir, window->window_start_unix, window->window_end_unix);
  if (report) report->scope = LatencyScope::kActiveWindow;
  return report;
}

}  // namespace agentsched::analysis
