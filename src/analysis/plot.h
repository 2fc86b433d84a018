#pragma once
// Self-contained SVG charts (no scripts, no external fonts or files; open in any browser).
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace agentsched::analysis {

// One panel per run: KV usage (%) over time since the first sample, one line per port, the
// threshold as a dashed line, the active window shaded and each finished task marked as a
// tick under the curve. `runs` are (label, run folder). Fails when a run's CSV is unusable;
// a run without a window is drawn without shading.
Status write_kv_plot(const std::vector<std::pair<std::string, std::filesystem::path>>& runs,
                     double threshold_percent, const std::filesystem::path& out_svg);

struct ThroughputRow {
  std::string system;
  int concurrency = 0;
  double tasks_per_min = 0;  // NaN: no bar (drawn as "n/a")
  double steps_per_s = 0;
};

// Two grouped bar charts (tasks/min and steps/s): one group per concurrency, one bar per
// system, values written on the bars.
Status write_throughput_chart(const std::vector<ThroughputRow>& rows,
                              const std::filesystem::path& out_svg);

}  // namespace agentsched::analysis
