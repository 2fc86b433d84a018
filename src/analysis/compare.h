#pragma once
// The reference's two comparison tables (tasks/min and steps/s inside the active window):
// rows = concurrency, columns = systems, last column the winner.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/window.h"
#include "core/result.h"

namespace agentsched::analysis {

// A run named on the command line: `NAME=PATH`, or `PATH` named after its folder.
struct NamedRun {
  std::string name;
  std::filesystem::path dir;
};
NamedRun parse_named_run(std::string_view argument);

// System and concurrency from a run name: "thunderreact_c64" -> (thunderreact, 64),
// "baseline-c128" -> (baseline, 128), "TR64" -> (TR, 64). nullopt concurrency when the name
// has no trailing number.
struct SystemAndConcurrency {
  std::string system;
  std::optional<int> concurrency;
};
SystemAndConcurrency split_run_name(std::string_view name);

struct CompareEntry {
  std::string name;
  std::string system;
  int concurrency = 0;
  std::filesystem::path dir;
  double tasks_per_min = 0;  // NaN: no rate (reason in `problem`)
  double steps_per_s = 0;
  std::string problem;  // empty when the run has a rate
  std::optional<WindowReport> report;
};

struct CompareTable {
  double threshold_percent = kDefaultThresholdPercent;
  std::vector<std::string> systems;  // columns, in the order first named
  std::vector<int> concurrencies;    // rows, ascending
  std::vector<CompareEntry> entries;

  const CompareEntry* find(int concurrency, const std::string& system) const;
  // System with the highest value in the row; "tie: a, b" on equal best values; "-" when no
  // run of the row has a rate.
  std::string winner(int concurrency, bool steps) const;
};

// Analyses every run (window only). A run that cannot be read is an error; a run without a
// window or rate stays in the table with its problem. Concurrency comes from the name, else
// from the driver's max_concurrency line; two runs with the same system and concurrency are
// an error.
Result<CompareTable> build_compare_table(const std::vector<NamedRun>& runs,
                                         double threshold_percent);

// Markdown table of tasks/min (steps == false) or steps/s, values with 2 decimals.
std::string render_compare_markdown(const CompareTable& table, bool steps);
// CSV: concurrency,system,tasks_per_min,steps_per_s,window_seconds,tasks_in_window,...
std::string render_compare_csv(const CompareTable& table);

}  // namespace agentsched::analysis
