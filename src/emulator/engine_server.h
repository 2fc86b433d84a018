#pragma once
// `agentsched engine`: a vLLM-compatible engine emulator. Real HTTP (OpenAI chat
// completions, streaming or not, /v1/models, /health, /metrics with vLLM's names); the GPU
// is the simulator's EngineModel driven by the (optionally scaled) steady clock and Asio
// timers. All scheduling is EngineModel's; this file only moves requests in and tokens out.
//
// Driving: a request arriving -> EngineModel::add_request; whenever no step is in flight
// and the engine has work -> begin_step and a timer for its duration / time scale; at the
// timer -> finish_step, tokens to the waiting streams, finished requests to their handlers,
// next step. While idle, a timer at next_wakeup() releases expired continuum pins.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/backend_metrics.h"
#include "core/clock.h"
#include "core/result.h"
#include "model/profile.h"

namespace boost::asio {
class io_context;
}

namespace agentsched::serve {

// Deterministic fault injection, for testing gateways and clients against a misbehaving
// engine (`agentsched engine --fault KIND=EVERY`; docs/engine.md, "Fault injection").
// Chat faults hit the EVERY-th POST /v1/chat/completions (counted at arrival, from 1:
// n % EVERY == 0); `garbage-metrics` hits the EVERY-th GET /metrics.
enum class EngineFaultKind : std::uint8_t {
  kHttp500,         // HTTP 500 with a vLLM error body, before the request reaches the engine
  kClose,           // the connection closes after the first chunk (stream) or the head
  kStall,           // nothing is sent until the client hangs up; the request is then aborted
  kGarbageMetrics,  // GET /metrics answers 200 with text that is not Prometheus exposition
};
inline constexpr int kEngineFaultKinds = 4;

struct EngineFault {
  EngineFaultKind kind = EngineFaultKind::kHttp500;
  std::int64_t every = 1;
};

// "http500", "close", "stall", "garbage-metrics".
std::string_view engine_fault_name(EngineFaultKind kind);
// Parses `KIND=EVERY` (EVERY a positive integer); the error names --fault and the value.
Result<EngineFault> parse_engine_fault(std::string_view spec);

struct EngineServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;  // 0 picks a free port; the bound one is announced
  std::string profile = std::string(kDefaultProfile);
  std::string policy = "fcfs";  // engine policy: fcfs (vLLM), continuum or plas
  std::map<std::string, double, std::less<>> policy_params;  // --engine-param name=value
  // Emulated seconds per real second: 10 runs the simulated GPU ten times faster.
  double time_scale = 1.0;
  std::string model;       // served model name; "" = the profile's model name
  std::uint64_t seed = 0;  // output lengths drawn when a request sets no exact length
  // Real seconds in-flight requests get to finish after SIGTERM before they are aborted.
  double shutdown_timeout_s = 30.0;
  std::int64_t num_gpu_blocks_override = 0;  // vLLM's --num-gpu-blocks-override; 0 = derived
  std::int64_t max_model_len = 0;            // vLLM's --max-model-len; 0 = the profile's
  // Host-memory KV tier in GiB (vLLM's --kv-offloading-size); < 0: the profile's host.kv_gib.
  double host_kv_gib = -1;
  // For tests only: at most one per kind (a second one is a configuration error).
  std::vector<EngineFault> faults;
  // For tests only: the clock the emulated GPU runs on (a VirtualClock the test advances), in
  // place of a ScaledClock at time_scale; it must outlive the server.
  const Clock* clock = nullptr;
};

class EngineServer {
 public:
  // Loads the profile and the policy; throws std::runtime_error on a configuration error.
  EngineServer(boost::asio::io_context& io, EngineServerOptions options);
  ~EngineServer();
  EngineServer(const EngineServer&) = delete;
  EngineServer& operator=(const EngineServer&) = delete;

  // Binds, listens and starts accepting.
  Status start();
  std::uint16_t port() const;
  const EngineServerOptions& options() const;
  const Profile& profile() const;

  // Graceful stop: no new connections or requests; in-flight requests finish, or are aborted
  // after shutdown_timeout_s; then every socket and timer is closed (so io_context::run()
  // returns) and `on_done` is called. A second call aborts what is left at once.
  void shutdown(std::function<void()> on_done = {});

  // Engine gauges and counters (call on the io_context's thread).
  BackendMetrics metrics() const;
  std::string metrics_text() const;
  // Faults of `kind` injected so far.
  std::int64_t faults_injected(EngineFaultKind kind) const;

  struct Impl;  // implementation detail, shared with the request coroutines

 private:
  std::shared_ptr<Impl> impl_;
};

// The `agentsched engine` process: raises the descriptor limit, serves until SIGTERM or
// SIGINT, shuts down gracefully. Prints `listening on HOST:PORT` on stdout once bound.
// Returns the process exit code.
int run_engine_server(const EngineServerOptions& options);

}  // namespace agentsched::serve
