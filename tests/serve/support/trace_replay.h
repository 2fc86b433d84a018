#pragma once
// Replays a workload trace's orchestrator calls against an OpenAI-compatible endpoint in
// scaled real time, as the simulator plays them on its virtual clock: C programs at a time
// in trace order, each turn's call with the same prompt tokens, block-sharing structure,
// output length (max_tokens + ignore_eos), job_id and next_tool, then the scripted expert,
// tool and user waits. It samples the endpoint's /metrics on the way, so a live engine's
// KV usage and queue lengths can be compared with `sim run` on the same trace.
//
// This is the engine-facing core of a live driver, with none of the driver's artifacts: a
// test harness (test_serve, test_serve_vs_sim), not part of the product. Programs are played
// by the simulator's interpreter (workload/program_runner.h) and their prompts sent as its
// messages in the one token encoding (workload/token_text.h).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/backend_metrics.h"
#include "core/result.h"
#include "workload/program_script.h"

namespace agentsched::serve {

struct ReplayOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  const Workload* workload = nullptr;
  int concurrency = 32;
  int max_programs = 0;                  // 0: the whole workload
  double time_scale = 1.0;               // the engine's --time-scale; waits shrink alike
  double kv_sample_interval_s = 5.0;     // emulated seconds, as the reference sampler
  double queue_sample_interval_s = 0.5;  // emulated seconds
  std::int32_t block_size = 16;          // the engine's (and the simulator's) block size
  std::string model;                     // sent as `model` when not empty
  double limit_s = 3600;                 // real seconds before giving up
};

struct ReplaySample {
  double t = 0;  // emulated seconds since the replay started
  BackendMetrics metrics;
};

struct ReplayResult {
  long ok = 0;
  long errors = 0;  // programs ended by a scripted expert failure
  long llm_calls = 0;
  double elapsed_s = 0;  // emulated seconds to the last finished program
  std::vector<ReplaySample> kv_samples;
  std::vector<ReplaySample> queue_samples;
};

// Fails on the first call that does not come back as scripted (HTTP error, wrong token
// counts) or when limit_s passes.
Result<ReplayResult> replay_trace(const ReplayOptions& options);

// KV usage and queue lengths of one run over emulated time.
struct RunSeries {
  double elapsed_s = 0;
  std::vector<std::pair<double, double>> kv;  // (t, usage) every sample interval
  double mean_kv = 0;                         // over samples up to elapsed_s
  double mean_running = 0;                    // time averages over [0, elapsed_s]
  double mean_waiting = 0;
};

// From a `sim run` folder: kv_cache_timeseries.csv, agentsched/timeline.csv (exact running
// and waiting time of every call) and the elapsed time in driver.log.
Result<RunSeries> read_sim_run(const std::filesystem::path& run_dir);
RunSeries series_from_replay(const ReplayResult& replay);

struct SeriesComparison {
  double elapsed_rel = 0;  // |live - sim| / sim
  double mean_kv_rel = 0;  // relative difference of the mean KV usage
  // Mean |live - sim| of the KV usage samples taken at the same instants (fraction). In a
  // long run under heavy preemption, millisecond differences (HTTP round trips, timer
  // latency, amplified by the time scale) reorder events and the two runs drift apart
  // sample by sample while their behaviour over time stays the same: reported, but the
  // criterion uses the windowed figure below.
  double kv_mean_abs_diff = 0;
  // Mean |live - sim| of the KV usage averaged over consecutive windows of kv_window_s.
  double kv_window_abs_diff = 0;
  double kv_window_s = 60;
  double running_rel = 0;  // relative difference of the mean running requests
  double waiting_rel = 0;  // |live - sim| / max(live, sim, 1) of the mean waiting ones
  std::size_t kv_points = 0;
  // Elapsed time, mean KV usage, windowed KV usage and mean queue lengths all within
  // `tolerance` (0.05 = 5%).
  bool within(double tolerance) const;
  std::string table(const RunSeries& live, const RunSeries& sim) const;
};
SeriesComparison compare_series(const RunSeries& live, const RunSeries& sim,
                                double kv_window_s = 60);
// `t,engine_kv_usage,sim_kv_usage` per KV sample instant, for plots.
Status write_kv_comparison_csv(const std::filesystem::path& path, const RunSeries& live,
                               const RunSeries& sim);

}  // namespace agentsched::serve
