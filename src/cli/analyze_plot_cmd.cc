// `agentsched analyze plot`: the KV grid, throughput and latency charts of run folders, each
// with the CSV of what it draws (analysis/plot.h).
#include <fmt/format.h>

#include <memory>

#include "analysis/plot.h"
#include "cli/analyze_common.h"
#include "cli/command_registry.h"

namespace agentsched::cli {
namespace {

using namespace analyze_common;

struct PlotOptions {
  CommonOptions common;
  double smooth_seconds = 0;
  std::string out_dir = ".";
};

void run_plot(const PlotOptions& plot) {
  const CommonOptions& options = plot.common;
  const RunSelection selection = select_runs(options.runs);
  if (!selection.errors.empty())
    throw CommandFailure{fmt::format("{} of {} run(s) could not be read", selection.errors.size(),
                                     selection.runs.size() + selection.errors.size())};
  const std::filesystem::path dir(plot.out_dir);
  const std::filesystem::path kv_svg = dir / "kv_usage.svg";
  const std::filesystem::path throughput_svg = dir / "throughput.svg";
  const std::filesystem::path latency_svg = dir / "latency.svg";
  auto csv_of = [](std::filesystem::path p) { return p.replace_extension(".csv").string(); };
  // With system and concurrency in the run names, the KV panels form a grid (seeds as lines);
  // otherwise one panel per run.
  auto table = build_compare_table(selection.runs, options.threshold);
  KvPlotOptions kv_options;
  kv_options.threshold_percent = options.threshold;
  kv_options.smooth_seconds = plot.smooth_seconds;
  std::vector<KvPlotRun> kv_runs;
  if (table) {
    for (const auto& system : table->systems)
      for (int c : table->concurrencies)
        for (const CompareEntry* e : table->cell_runs(c, system))
          kv_runs.push_back(
              {system, fmt::format("C = {}", c),
               e->seed && table->seed_count > 1 ? fmt::format("seed {}", *e->seed) : std::string(),
               e->dir});
  } else {
    for (const auto& run : selection.runs) kv_runs.push_back({run.name, "", "", run.dir});
  }
  if (auto written = write_kv_grid(kv_runs, kv_options, kv_svg); !written)
    throw CommandFailure{written.error().message};
  json::object out{{"threshold_percent", options.threshold},
                   {"kv_plot", kv_svg.string()},
                   {"kv_plot_csv", csv_of(kv_svg)}};
  if (table) {
    std::vector<ThroughputRow> rows;
    std::vector<LatencyBox> boxes;
    for (int c : table->concurrencies) {
      const bool whole = table->row_whole_run(c);
      for (const auto& system : table->systems) {
        const auto runs = table->cell_runs(c, system);
        if (runs.empty()) continue;
        const Spread t = table->cell(c, system, false), s = table->cell(c, system, true);
        ThroughputRow row{system, c,     t.mean,
                          s.mean, t.min, t.max,
                          s.min,  s.max, std::max<std::size_t>(runs.size(), 1),
                          whole};
        rows.push_back(row);
        LatencyBox box{system, c, {}, runs.size(), whole};
        for (const CompareEntry* e : runs) {
          const WindowReport& w = *e->report;
          const bool all = whole || !w.has_window;
          auto durations = read_llm_call_durations(
              e->dir, all ? -std::numeric_limits<double>::infinity() : w.window_start_unix,
              all ? std::numeric_limits<double>::infinity() : w.window_end_unix);
          if (!durations) throw CommandFailure{e->name + ": " + durations.error().message};
          box.durations_ms.insert(box.durations_ms.end(), durations->begin(), durations->end());
        }
        boxes.push_back(std::move(box));
      }
    }
    if (auto written = write_throughput_chart(rows, throughput_svg); !written)
      throw CommandFailure{written.error().message};
    const std::string title = fmt::format(
        "llm_call latency by concurrency, {}",
        table->concurrencies.size() == static_cast<std::size_t>(std::count_if(
                                           table->concurrencies.begin(), table->concurrencies.end(),
                                           [&](int c) { return table->row_whole_run(c); }))
            ? "whole run (no active window)"
            : fmt::format("active window (KV > {:g}%)", options.threshold));
    if (auto written = write_latency_plot(boxes, title, latency_svg); !written)
      throw CommandFailure{written.error().message};
    out["throughput_chart"] = throughput_svg.string();
    out["throughput_chart_csv"] = csv_of(throughput_svg);
    out["latency_plot"] = latency_svg.string();
    out["latency_plot_csv"] = csv_of(latency_svg);
  } else {
    warn("no throughput or latency chart: " + table.error().message);
    out["throughput_chart"] = nullptr;
    out["latency_plot"] = nullptr;
    out["throughput_error"] = table.error().message;
  }
  if (options.json) {
    std::fputs(pretty_json(out).c_str(), stdout);
  } else {
    fmt::print("wrote {} (and .csv)\n", kv_svg.string());
    if (table) {
      fmt::print("wrote {} (and .csv)\n", throughput_svg.string());
      fmt::print("wrote {} (and .csv)\n", latency_svg.string());
    }
  }
}

void declare_options(CLI::App* plot, PlotOptions& options) {
  add_common(plot, options.common,
             "Runs as NAME=PATH or PATH (named after the folder, e.g. baseline_c32_s1)",
             "Print the written files as JSON");
  plot->add_option("--out", options.out_dir, "Folder for the SVG and CSV files")
      ->capture_default_str();
  plot->add_option("--smooth", options.smooth_seconds,
                   "Draw KV usage as a moving average over this many seconds (0: raw samples)")
      ->check(kNonNegativeNumber)
      ->capture_default_str();
}

// After `analyze` itself (order 50) exists.
const RegisterCommand registration(
    52, "analyze", "plot",
    "Write kv_usage.svg (KV usage over time: systems x concurrency grid, seeds as lines, "
    "windows shaded), throughput.svg (mean bars, min-max error bars over seeds) and "
    "latency.svg (llm_call distributions), each with a CSV of what it draws",
    declare_options, run_plot);

}  // namespace
}  // namespace agentsched::cli
