#pragma once
// `agentsched drive`: runs the programs of a workload against an OpenAI-compatible endpoint
// (the engine emulator, the router, a real vLLM) in global mode, C programs in flight, and
// writes the run folder of docs/design.md as it goes.
//
// Each program is played by the same interpreter as in the simulator
// (workload/program_runner.h): the user simulator's opening message, then per turn the
// orchestrator call, the expert call if any, and the tool or user wait; the same
// [PROFILE]/[USER_JUDGE] lines in the same order of events. Calls carry real chat messages in
// the one token encoding (workload/token_text.h), so prompts grow append-only turn by turn
// and, past the prompt cap, lose their middle messages exactly as the simulator's. Each call
// asks for its scripted output length (max_tokens + ignore_eos) and carries job_id and
// next_tool; a finished program is released (POST /programs/release).
//
// Failures never loop: transient errors are retried with capped exponential backoff up to
// max_attempts; a permanent error ("maximum context length", any other 4xx) or the last
// failed attempt ends that task as `error` with the reason in driver.log.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"
#include "gateway/systems.h"
#include "http/endpoint.h"
#include "workload/program_script.h"

namespace agentsched {
class Clock;
}

namespace agentsched::serve {

struct RetryPolicy {
  int max_attempts = 5;            // per call, the first one included
  double initial_backoff_s = 1.0;  // emulated seconds before the second attempt
  double max_backoff_s = 30.0;     // the doubling stops here
  // Backoff before attempt `attempt` (2, 3, ...): initial x 2^(attempt-2), capped.
  double backoff_before(int attempt) const;
};

struct DriverProgress {
  long finished = 0;
  long ok = 0;
  long errors = 0;
  long total = 0;
  double emulated_elapsed_s = 0;
  double real_elapsed_s = 0;
};

struct DriverOptions {
  HttpEndpoint endpoint;
  std::shared_ptr<const Workload> workload;
  int concurrency = 32;
  int max_programs = 0;  // 0: the whole workload
  // Real seconds after the start past which no new program starts; the programs in flight
  // then finish and the run ends with the programs started (a soak of a fixed wall time).
  // 0: run every program.
  double duration_s = 0;
  std::filesystem::path out_dir;
  bool overwrite = false;
  // Scaled clock shared with the other processes of the run (core/clock.h).
  double time_scale = 1.0;
  std::optional<double> clock_origin_unix;
  // The run's clock, read for every emulated time and waited on (http/clock_timer.h); null: an
  // owned ScaledClock of time_scale and clock_origin_unix. Tests bring a VirtualClock (whose 0
  // is clock_origin_unix, else the start) and `advance_clock`, which moves it to its next
  // wake-up when nothing else is ready and returns false when it has none.
  const Clock* clock = nullptr;
  std::function<bool()> advance_clock;
  // Orchestrator model sent as `model`; "" asks the endpoint's /v1/models for its first one
  // (and sends none if that fails).
  std::string model;
  std::string user_model = "gpt-5";  // the user simulator, as the reference's logs name it
  // Remote user-simulator and expert models; calls to models it does not list stay
  // simulated waits drawn from the workload.
  std::optional<ModelConfig> model_config;
  // Programs of a domain send the same head text (system prompt, policy, tool schemas), so
  // the engine's prefix cache shares its blocks, as with the real agent and as `sim` models
  // it by default (workload/shared_head.h); false gives every program its own head.
  bool share_heads = true;
  RetryPolicy retry;
  double request_timeout_s = 0;  // emulated seconds per attempt; 0 = no deadline
  // Real seconds the endpoint gets to answer GET /v1/models before the run starts.
  double startup_timeout_s = 10;
  double status_interval_s = 1.0;  // real seconds between status.json updates and flushes
  // Write the KV CSV header too (for runs without a sampler); normally the sampler owns it.
  bool write_kv_csv = false;
  // Called about once a second (real time) and at the end.
  std::function<void(const DriverProgress&)> on_progress;
  // Returns true when the run must stop (SIGINT/SIGTERM): programs in flight are abandoned,
  // the log says so and run_driver returns an error.
  std::function<bool()> stop_requested;
  // The system behind the endpoint (gateway/systems.h), kept in agentsched/config.json as a
  // simulated run keeps its own; unset (null there) when the caller does not say.
  std::optional<SystemSpec> system;
  // Free-form description of the command line, kept in agentsched/config.json.
  std::string command_line;
  // A JSON object kept as "provenance" in agentsched/config.json (git commit, full command
  // line, workload hash: cli/provenance.h); "" for none.
  std::string provenance_json;
  // The router's admin token, sent as `Authorization: Bearer` on POST /programs/release and
  // on no other call; "" sends none. Never written to the run folder.
  std::string admin_token;
};

struct DriverResult {
  long ok = 0;
  long errors = 0;
  long total = 0;
  double elapsed_s = 0;  // emulated seconds from the start to the last finished program
  long llm_calls = 0;
  long retries = 0;       // attempts beyond the first, all calls
  long remote_calls = 0;  // real user-simulator and expert calls
  double wall_s = 0;      // real seconds
};

// Runs the whole workload; returns when every program ended (ok or error). Fails on a
// configuration error (folder, endpoint never answering at all) or when stopped.
Result<DriverResult> run_driver(const DriverOptions& options);

}  // namespace agentsched::serve
