#pragma once
// Summary of a matrix of runs (systems x concurrencies x seeds), computed from the run
// folders with the same definitions as `analyze` -- never from simulator internals -- and
// written as summary.md and summary.json.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "analysis/plot.h"
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
  double window_start_unix = 0, window_end_unix = 0;
  double tasks_per_min = 0;  // active window
  double steps_per_s = 0;    // active window
  double whole_tasks_per_min = 0;
  double whole_steps_per_s = 0;
  double elapsed_s = 0;
  long tasks_ok = 0;
  long tasks_error = 0;
  // Inside the window; over the whole run for a run without one (latency_whole_run).
  double llm_p50_ms = 0, llm_p90_ms = 0, llm_p99_ms = 0;
  bool latency_whole_run = false;
  // Whole-run latencies, filled for every run of a row that shows whole-run figures.
  double whole_llm_p50_ms = NAN, whole_llm_p90_ms = NAN, whole_llm_p99_ms = NAN;
};

struct MatrixSummary {
  double threshold_percent = 70;
  std::vector<MatrixRunFigures> runs;
  // Concurrencies whose "active window" rows show whole-run figures: some run of the row has
  // no window rate, and a row compares like with like.
  std::vector<int> whole_run_rows;
  std::string markdown;  // the tables, as printed

  bool row_whole_run(int concurrency) const;
};

Result<MatrixSummary> summarize_matrix(const std::vector<MatrixRun>& runs,
                                       double threshold_percent);
// Writes <dir>/summary.md and <dir>/summary.json.
Status write_matrix_summary(const MatrixSummary& summary, const std::filesystem::path& dir);
// The three charts of a matrix, in memory (see write_matrix_plots).
struct MatrixPlots {
  SvgChart kv_usage, throughput, latency;
};
Result<MatrixPlots> render_matrix_plots(const MatrixSummary& summary);
// Writes <dir>/kv_usage.svg (systems x concurrency grid of KV usage, seeds as lines),
// <dir>/throughput.svg (means with min-max error bars over seeds) and <dir>/latency.svg
// (llm_call distributions), each with its .csv.
Status write_matrix_plots(const MatrixSummary& summary, const std::filesystem::path& dir);

}  // namespace agentsched::analysis
