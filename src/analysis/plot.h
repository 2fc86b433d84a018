#pragma once
// Self-contained SVG charts (no scripts, no external fonts or files; open in any browser).
// Every writer also writes <name>.csv beside <name>.svg with exactly the numbers it draws, so
// a figure can be re-plotted or checked without reading SVG.
#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analysis/spread.h"
#include "core/result.h"

namespace agentsched::analysis {

// A chart in memory: the SVG text and the CSV of exactly what it draws. The render_* functions
// return it (for pages that inline the SVG, analysis/html_report.h); the write_* functions
// write it as <name>.svg and <name>.csv.
struct SvgChart {
  std::string svg;
  std::string csv;
};

// ------------------------------------------------------------------------- KV usage grid

// One run of the KV grid. Panels are laid out rows x columns (systems x concurrency), in the
// order the labels first appear; the runs of one panel (seeds) are lines of their own, one
// colour per `series` label across the whole figure.
struct KvPlotRun {
  std::string row;     // e.g. the system
  std::string column;  // e.g. "C = 32"; empty: one column
  std::string series;  // e.g. "seed 1"; empty: one run per panel
  std::filesystem::path dir;
};

struct KvPlotOptions {
  double threshold_percent = 70;
  // Centred moving average of each port's line over this many seconds; 0 draws the samples.
  // The window is always found on the raw samples.
  double smooth_seconds = 0;
  std::string title = "KV cache usage";
};

// KV usage (%) over time since each run's first sample, x and y axes shared by every panel;
// the threshold dashed, each run's active window shaded in its colour, finished tasks as
// ticks along the bottom. Fails when a run's CSV is unusable; a run without a window is drawn
// without shading and its panel says so.
Result<SvgChart> render_kv_grid(const std::vector<KvPlotRun>& runs, const KvPlotOptions& options);
Status write_kv_grid(const std::vector<KvPlotRun>& runs, const KvPlotOptions& options,
                     const std::filesystem::path& out_svg);

// One panel per (label, run folder), in one column.
Status write_kv_plot(const std::vector<std::pair<std::string, std::filesystem::path>>& runs,
                     double threshold_percent, const std::filesystem::path& out_svg);

// ------------------------------------------------------------------------ throughput bars

struct ThroughputRow {
  std::string system;
  int concurrency = 0;
  double tasks_per_min = 0;  // mean; NaN: no bar (drawn as "n/a")
  double steps_per_s = 0;
  // Min and max over seeds, drawn as error bars when seeds > 1.
  double tasks_min = NAN, tasks_max = NAN;
  double steps_min = NAN, steps_max = NAN;
  std::size_t seeds = 1;
  bool whole_run = false;  // whole-run figures (the row had no active window): labelled
};

// The bars of `system` at `concurrency`, from the spreads of its figures over seeds.
ThroughputRow throughput_row(const std::string& system, int concurrency, const Spread& tasks,
                             const Spread& steps, std::size_t seeds, bool whole_run);

// Two grouped bar charts (tasks/min and steps/s): one group per concurrency, one bar per
// system, the mean written above each bar and, with several seeds, a min-max error bar.
Result<SvgChart> render_throughput_chart(const std::vector<ThroughputRow>& rows);
Status write_throughput_chart(const std::vector<ThroughputRow>& rows,
                              const std::filesystem::path& out_svg);

// ------------------------------------------------------------------- latency distributions

struct LatencyBox {
  std::string system;
  int concurrency = 0;
  std::vector<double> durations_ms;  // every call of the cell (seeds pooled)
  std::size_t runs = 1;
  bool whole_run = false;  // calls of the whole run (no active window)
};

// llm_call latency per system and concurrency on a log axis: box p25-p75, line at the median,
// whiskers p10-p90, a dot at p99 and a cross at the maximum, so the p50-vs-p99 gap reads at
// a glance.
Result<SvgChart> render_latency_plot(const std::vector<LatencyBox>& boxes,
                                     const std::string& title);
Status write_latency_plot(const std::vector<LatencyBox>& boxes, const std::string& title,
                          const std::filesystem::path& out_svg);

// -------------------------------------------------------------------------- line charts

struct LinePoint {
  double x = 0;
  double y = 0;                     // NaN: no point (the line breaks)
  double y_min = NAN, y_max = NAN;  // error bar when both are finite and differ
};
struct LineSeries {
  std::string name;
  std::vector<LinePoint> points;  // drawn in x order
  // A reference line (a bound, a ceiling): dashed, without point markers.
  bool dashed = false;
  // Draw in the colour of the series of this name (e.g. a ceiling beside its curve); empty:
  // a colour of its own.
  std::string color_as;
};
struct LinePanel {
  std::string y_label;
  std::vector<LineSeries> series;
};
struct LineChart {
  std::string title;
  std::string subtitle;
  std::string x_label;
  std::vector<LinePanel> panels;   // stacked, sharing the x axis
  std::optional<double> marker_x;  // a dashed vertical line (e.g. the base value)
  std::string marker_label;
};

// Lines with point markers and optional min-max error bars; one colour per series name across
// panels. For `sim sweep` (one point per knob value) and anything else drawn against a number.
Result<SvgChart> render_line_chart(const LineChart& chart);
Status write_line_chart(const LineChart& chart, const std::filesystem::path& out_svg);

// Text made safe inside SVG and HTML elements and quoted attributes (& < > " ').
std::string escape_markup(std::string_view text);

}  // namespace agentsched::analysis
