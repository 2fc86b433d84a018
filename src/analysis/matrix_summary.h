#pragma once
// Summary of a matrix of runs (systems x concurrencies x seeds), computed from the run
// folders with the same definitions as `analyze` -- never from simulator internals -- and
// written as summary.md and summary.json.
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"

namespace agentsched::analysis {

struct MatrixRun {
  std::string system;
  int concurrency = 0;
  std::uint64_t seed = 0;
  std::filesystem::path dir;
};

struct MatrixRunFigures {
  MatrixRun run;
  bool ok = false;
  std::string error;
  bool has_window = false;
  double window_s = 0;
  double tasks_per_min = 0;  // active window
  double steps_per_s = 0;    // active window
  double whole_tasks_per_min = 0;
  double whole_steps_per_s = 0;
  double elapsed_s = 0;
  long tasks_ok = 0;
  long tasks_error = 0;
  double llm_p50_ms = 0, llm_p90_ms = 0, llm_p99_ms = 0;  // inside the window
};

struct MatrixSummary {
  double threshold_percent = 70;
  std::vector<MatrixRunFigures> runs;
  std::string markdown;  // the tables, as printed
};

Result<MatrixSummary> summarize_matrix(const std::vector<MatrixRun>& runs,
                                       double threshold_percent);
// Writes <dir>/summary.md and <dir>/summary.json.
Status write_matrix_summary(const MatrixSummary& summary, const std::filesystem::path& dir);
// Writes <dir>/kv_usage.svg (every run's KV usage and window) and <dir>/throughput.svg.
Status write_matrix_plots(const MatrixSummary& summary, const std::filesystem::path& dir);

}  // namespace agentsched::analysis
