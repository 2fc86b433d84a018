#pragma once
// Where a run spent its time (docs/reference-study.md section 4): inside the active window, steps/s
// per role edge (from driver.log) and the latency distributions of llm_call, user_sim and
// expert_call (from logs/tau2_global.log, else driver.log), with the slowest llm_calls.
#include <filesystem>

#include "analysis/latency.h"
#include "analysis/window.h"
#include "core/result.h"

namespace agentsched::analysis {

struct BottleneckReport {
  WindowReport window;  // holds steps_by_edge
  LatencyReport latencies;
};

// kActiveWindow needs a window: a run without one is an error naming the highest sample.
// kWholeRun takes latencies over the whole run (the window part is still reported).
Result<BottleneckReport> analyze_bottleneck(const std::filesystem::path& run_dir,
                                            double threshold_percent,
                                            LatencyScope scope = LatencyScope::kActiveWindow);

}  // namespace agentsched::analysis
