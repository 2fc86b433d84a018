#pragma once
// Simulator fidelity from run folders: residuals of the calibrated matrix against the
// reference's C = 32 results (docs/reference-study.md section 5), predictions at other
// concurrencies with their spread over seeds, the mechanisms behind them (prefix hits, preemptions,
// time held in the gateway, time waiting in the engine), and sensitivity sweeps. Reads files only:
// agentsched/summary.json and agentsched/timeline.csv of each run, and the reference-format
// files through the matrix summary. Writes docs/fidelity.md (`agentsched sim report`) and
// sweep.md/sweep.json (`agentsched sim sweep`).
#include <array>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "analysis/matrix_summary.h"
#include "analysis/report_data.h"
#include "core/result.h"

namespace agentsched::analysis {

// The reference's figures (data/reference-study.toml) and the report's prose
// (data/fidelity-report.md) are data: analysis/report_data.h.
// What one run's own files say about how it spent its time. NaN where a file lacks a figure.
struct RunMechanisms {
  double elapsed_s = 0;
  double prefix_hit_rate = 0;  // over all backends
  double preemptions = 0;
  double busy_share = 0;  // engine busy time / elapsed (first backend)
  double mean_kv_usage = 0;
  double gateway_held_s = 0;  // total over calls
  std::size_t calls = 0;
  // Per LLM call (timeline.csv):
  double held_s_per_call = 0;     // in the gateway
  double waiting_s_per_call = 0;  // in the engine's waiting queue
  double prefill_s_per_call = 0;
  double decode_s_per_call = 0;
  double prompt_tokens_per_call = 0;
  double computed_prompt_tokens_per_call = 0;  // recomputation after preemption included
  double preempted_call_share = 0;
  double tpot_ms = 0;  // decode time per output token after the first, token-weighted
  // Whole-run distributions (ms): the call as the client saw it, vLLM's decode time (first to
  // last token) and prefill time (first scheduled to first token).
  double llm_p10_ms = 0, llm_p50_ms = 0, llm_p90_ms = 0, llm_p99_ms = 0, llm_max_ms = 0;
  double decode_p50_ms = 0, prefill_p50_ms = 0;
};
Result<RunMechanisms> read_run_mechanisms(const std::filesystem::path& run_dir);

// One value of a swept knob and the runs made with it.
struct SweepPointRuns {
  std::string label;  // <knob>=<value>
  double value = 0;
  std::vector<MatrixRun> runs;
};

// Long-format table (one row per value x system x concurrency, mean (min-max) over seeds):
// window and whole-run throughput, prefix hit rate, preemptions, waits. `base_value` marks the
// row of the unchanged configuration. Writes <dir>/sweep.md and <dir>/sweep.json and returns
// the markdown.
Result<std::string> write_sweep_summary(const std::string& knob, double base_value,
                                        const std::vector<SweepPointRuns>& points,
                                        double threshold_percent, const std::filesystem::path& dir);

struct SensitivitySweep {
  std::string knob;
  std::string question;  // what the sweep asks, one line
  double base_value = 0;
  std::vector<SweepPointRuns> points;
};

struct FidelityReportInput {
  std::string command;  // the command that regenerates the report
  // group, parameter, value, basis
  std::vector<std::array<std::string, 4>> calibration;
  std::vector<MatrixRun> runs;           // the calibrated matrix: systems x C x seeds
  std::vector<MatrixRun> low_load_runs;  // optional: baseline at a low concurrency
  std::vector<SensitivitySweep> sensitivity;
  double threshold_percent = 70;
  double tolerance = 0.12;  // residual bound at the reference points
};

struct FidelityReport {
  std::string markdown;
  bool residuals_within_tolerance = false;
  std::vector<std::string> residual_lines;  // "baseline C=32 tasks/min 3.72 vs 3.36 (+11%)"
};
Result<FidelityReport> make_fidelity_report(const FidelityReportInput& input);

}  // namespace agentsched::analysis
