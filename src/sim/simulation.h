#pragma once
// One simulated run: the programs of a workload, C at a time in global round-robin order,
// each turn's LLM call going through the gateway to one of the engine models, tool, expert
// and user waits as scripted -- all on a virtual clock, event by event. Writes the same run
// folder a live run writes.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "engine/engine_model.h"
#include "gateway/systems.h"
#include "model/profile.h"
#include "workload/program_script.h"

namespace agentsched {

// A backend the gateway cannot reach from start_s to end_s (virtual seconds): `sim --outage
// BACKEND:START_S:END_S`. docs/sim.md tells what the simulation does then.
struct BackendOutage {
  int backend = 0;
  double start_s = 0;
  double end_s = 0;
};

// "1:600:1200" -> backend 1 down from 600 s to 1200 s; errors name the bad part.
Result<BackendOutage> parse_backend_outage(std::string_view text);

struct SimOptions {
  SystemSpec system;
  int concurrency = 32;
  Profile profile;
  std::shared_ptr<const Workload> workload;
  int backends = 1;
  int max_programs = 0;  // 0: the whole workload
  // Wire programs straight to backend 0, with no gateway at all (to show that passthrough
  // adds nothing).
  bool no_gateway = false;
  double kv_sample_interval_s = 5.0;  // the reference sampler's period
  double metrics_interval_s = 0.5;    // gateway polling of /metrics
  double metrics_delay_s = 0.005;     // a poll's round trip: the snapshot arrives this late
  ContinuumParams continuum;
  // The client's wall-time budget for one LLM call (gateway hold included); past it the call
  // is abandoned and its task ends as an error. 0: no budget (calls wait as long as it takes).
  double call_timeout_s = 0;
  std::int64_t num_gpu_blocks_override = 0;
  // Backend outages (none: every backend up all along). At every moment one backend at least
  // must be up.
  std::vector<BackendOutage> outages;
  // Programs of a domain share their prompt head's cached blocks, as vLLM's content-addressed
  // prefix cache shares them (workload/shared_head.h); false gives every program its own.
  bool share_heads = true;
  std::string orchestrator_model = "/workspace/ckpt/nvidia/Nemotron-Orchestrator-8B";
  std::string user_model = "gpt-5";
  std::filesystem::path out_dir;
  bool overwrite = false;
  bool write_timeline = true;
  // Called after each finished program with (finished, total).
  std::function<void(long, long)> progress;
};

// The outages of `options` name existing backends, need a gateway and leave one backend up
// at every moment. run_simulation checks it too; callers check first to refuse bad options
// before they write anything.
Status check_backend_outages(const SimOptions& options);

struct SimBackendSummary {
  EngineCounters counters;
  std::vector<std::pair<std::string, double>> policy_stats;  // EnginePolicy::counters()
  double mean_kv_usage = 0;                                  // over the KV samples
};

struct SimResult {
  long ok = 0;
  long errors = 0;
  long total = 0;
  double elapsed_s = 0;  // virtual seconds to the last finished program
  long steps = 0;        // step_complete lines written
  long llm_calls = 0;
  long calls_timed_out = 0;   // calls abandoned at the client's budget (call_timeout_s)
  double gateway_held_s = 0;  // total time calls waited in the gateway
  double max_gateway_hold_s = 0;
  std::vector<SimBackendSummary> backends;
  double wall_s = 0;
};

Result<SimResult> run_simulation(const SimOptions& options);

}  // namespace agentsched
