#pragma once
// Request latencies as a serving benchmark reports them, per arrival stage: time to first
// token (TTFT), end-to-end latency (E2E) and time per output token (TPOT = (E2E - TTFT) /
// (output tokens - 1), averaged over requests), with the offered and achieved rates. Read
// from agentsched/timeline.csv (one row per LLM call, with its submission, first token and
// finish times) and the stages in agentsched/config.json; a closed-loop run is one stage.
// A request belongs to the stage in which it was submitted. Times are as the model's client
// sees them, the engine model's API-server time (cost.frontend_ms) included.
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"

namespace agentsched::analysis {

struct StageLatency {
  std::size_t stage = 0;
  double start_s = 0;
  double end_s = 0;          // the last stage of a closed-loop run: the last finish
  double offered_rate = 0;   // requests per second the stage offers; NaN: closed loop
  double achieved_rate = 0;  // requests finished inside the stage, per second
  std::size_t requests = 0;  // requests submitted in the stage (and answered)
  double ttft_mean_ms = 0, ttft_p90_ms = 0, ttft_p99_ms = 0;
  double e2e_mean_ms = 0, e2e_p90_ms = 0, e2e_p99_ms = 0;
  double tpot_mean_ms = 0;  // over requests with at least 2 output tokens
};

struct RequestLatencyReport {
  std::string arrivals;  // the stages as given ("8:600,20:600"); empty: closed loop
  std::vector<StageLatency> stages;
};

Result<RequestLatencyReport> analyze_request_latency(const std::filesystem::path& run_dir);

}  // namespace agentsched::analysis
