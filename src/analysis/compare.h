#pragma once
// The reference's two comparison tables (tasks/min and steps/s inside the active window):
// rows = concurrency, columns = systems, last column the winner. Runs of several seeds of one
// system and concurrency are one cell: mean (min-max), and a winner only when it clears the
// spread (analysis/spread.h).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/spread.h"
#include "analysis/window.h"
#include "core/result.h"

namespace agentsched::analysis {

// A run named on the command line: `NAME=PATH`, or `PATH` named after its folder (also a path
// with an `=` in it, such as a sweep's knob=value folders: one that exists, or with a `/` before
// the `=`).
struct NamedRun {
  std::string name;
  std::filesystem::path dir;
};
NamedRun parse_named_run(std::string_view argument);

// System, concurrency and seed from a run name: "thunderreact_c64" -> (thunderreact, 64),
// "baseline-c128" -> (baseline, 128), "TR64" -> (TR, 64), "baseline_c32_s1" -> (baseline, 32,
// seed 1) as `sim matrix --seeds` names its folders. nullopt concurrency when the name has no
// trailing number (after the seed); nullopt seed without a "_s<N>" / "-s<N>" suffix.
struct SystemAndConcurrency {
  std::string system;
  std::optional<int> concurrency;
  std::optional<std::uint64_t> seed;
};
SystemAndConcurrency split_run_name(std::string_view name);

struct CompareEntry {
  std::string name;
  std::string system;
  int concurrency = 0;
  std::optional<std::uint64_t> seed;
  std::filesystem::path dir;
  double tasks_per_min = 0;  // active window; NaN: no rate (reason in `problem`)
  double steps_per_s = 0;
  // The driver's closing line; steps over its elapsed_s. NaN without that line.
  double whole_tasks_per_min = 0;
  double whole_steps_per_s = 0;
  std::string problem;  // empty when the run has a rate
  std::optional<WindowReport> report;
};

struct CompareTable {
  double threshold_percent = kDefaultThresholdPercent;
  std::vector<std::string> systems;  // columns, in the order first named
  std::vector<int> concurrencies;    // rows, ascending
  std::vector<CompareEntry> entries;
  std::size_t seed_count = 0;  // distinct seeds named (0: no run name carries one)

  // The first run of the cell (any seed).
  const CompareEntry* find(int concurrency, const std::string& system) const;
  std::vector<const CompareEntry*> cell_runs(int concurrency, const std::string& system) const;
  // True when some run of the row has no window rate: the whole row then shows whole-run
  // figures, so its winner compares like with like.
  bool row_whole_run(int concurrency) const;
  // Mean, min and max over the seeds of a cell, in the row's scope; n == 0 without a value.
  Spread cell(int concurrency, const std::string& system, bool steps) const;
  // The row's verdict (analysis/spread.h): a system, "tie (equal): ...", "tie (ranges
  // overlap): ...", or "-" when no run of the row has a value.
  std::string winner(int concurrency, bool steps) const;
};

// Analyses every run (window only). A run that cannot be read is an error; a run without a
// window or rate stays in the table with its problem. Concurrency comes from the name, else
// from the driver's max_concurrency line; two runs with the same system, concurrency and seed
// are an error.
Result<CompareTable> build_compare_table(const std::vector<NamedRun>& runs,
                                         double threshold_percent);

// Markdown table of tasks/min (steps == false) or steps/s, values with 2 decimals, "mean
// (min-max)" for cells of several seeds; rows in whole-run figures say so in their first cell,
// and a note under the table explains the mark.
std::string render_compare_markdown(const CompareTable& table, bool steps);
// CSV, one row per run: concurrency,system,name,tasks_per_min,steps_per_s,window_seconds,
// tasks_in_window,steps_in_window,seed,whole_run_tasks_per_min,whole_run_steps_per_s
std::string render_compare_csv(const CompareTable& table);

}  // namespace agentsched::analysis
