#pragma once
// `sim sweep` as a line chart: one line per system and concurrency against the swept value,
// means with min-max error bars over seeds. Figures come from the run folders with the
// definitions of `analyze` (summarize_matrix), like the sweep's tables.
#include <filesystem>
#include <string>
#include <vector>

#include "analysis/fidelity_report.h"
#include "analysis/plot.h"
#include "core/result.h"

namespace agentsched::analysis {

// The chart (tasks/min and steps/s in the active window, tasks/min over the whole run) of the
// sweep's points; the base value is marked. Writes nothing for a sweep without runs.
Result<LineChart> sweep_line_chart(const std::string& knob, double base_value,
                                   const std::vector<SweepPointRuns>& points,
                                   double threshold_percent);

// Writes <dir>/sweep.svg and <dir>/sweep.csv.
Status write_sweep_plot(const std::string& knob, double base_value,
                        const std::vector<SweepPointRuns>& points, double threshold_percent,
                        const std::filesystem::path& dir);

}  // namespace agentsched::analysis
