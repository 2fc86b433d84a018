#include "analysis/bottleneck.h"

#include <future>
#include <limits>

namespace agentsched::analysis {

Result<BottleneckReport> analyze_bottleneck(const std::filesystem::path& run_dir,
                                            double threshold_percent, LatencyScope scope) {
  auto window = read_kv_window(run_dir, threshold_percent);
  if (!window) return window.error();
  const bool whole = scope == LatencyScope::kWholeRun;
  if (!whole && !window->has_window) return make_error(window_problem(*window));
  // The window is known from the CSV alone, so the two big logs are independent: scan the
  // global log on a second thread while this one counts driver.log.
  const double start = whole ? -std::numeric_limits<double>::infinity() : window->window_start_unix;
  const double end = whole ? std::numeric_limits<double>::infinity() : window->window_end_unix;
  auto latencies_future = std::async(std::launch::async, [&run_dir, start, end] {
    return analyze_latencies_in(run_dir, start, end);
  });
  const Status counted = count_driver_log(*window);
  auto latencies = latencies_future.get();
  if (!counted) return counted.error();
  if (!latencies) return latencies.error();
  latencies->scope = scope;
  return BottleneckReport{std::move(*window), std::move(*latencies)};
}

}  // namespace agentsched::analysis
