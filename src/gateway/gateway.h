#pragma once
// The gateway layer: a program table and a pluggable policy deciding, for every LLM call of
// an agentic program, whether to forward it now (and to which backend) or hold it. The same
// Gateway object runs inside the simulator (virtual clock) and the live router (steady
// clock). It never sees an engine directly: only BackendMetrics snapshots, as polled from
// /metrics, and the outcome of each call -- exactly what a real router sees of vLLM.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/backend_metrics.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/result.h"

namespace agentsched {

// One LLM call as the gateway sees it on arrival.
struct CallRequest {
  RequestId id = 0;
  std::string program_id;  // job_id; empty for a call outside any program
  bool is_last_step = false;
  // Best guess of the prompt size before the engine reports usage (the simulator knows it;
  // the router estimates it from the body size).
  std::int64_t prompt_tokens_estimate = 0;
};

struct CallResult {
  RequestId id = 0;
  bool ok = true;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t cached_tokens = 0;  // prompt tokens the engine found cached (0: not reported)
  std::int64_t total_tokens() const { return prompt_tokens + completion_tokens; }
};

struct ProgramState {
  std::string id;
  std::optional<BackendIndex> backend;  // sticky placement once chosen
  std::int64_t context_tokens = 0;      // total_tokens of the last response
  std::int64_t steps = 0;               // calls completed
  bool in_flight = false;
  bool paused = false;
  bool pause_requested = false;  // pause when the call in flight returns
  Seconds first_seen = 0;
  Seconds last_activity = 0;
  Seconds paused_since = 0;
  std::deque<CallRequest> held;  // calls waiting in the gateway
  Seconds held_since = 0;        // arrival of the oldest held call
  Seconds total_held_s = 0;
  std::int64_t calls = 0;
};

struct BackendView {
  BackendMetrics metrics;      // latest poll
  Seconds polled_at = -1;      // -1: never polled
  std::int64_t programs = 0;   // programs placed here
  std::int64_t in_flight = 0;  // calls forwarded and not yet returned
};

class Gateway;

// Implemented by whoever moves the bytes: the simulator or the live router.
class GatewayDriver {
 public:
  virtual ~GatewayDriver() = default;
  virtual void forward(const CallRequest& call, BackendIndex backend) = 0;
};

// Slack for policies' comparisons of times against bounds, deadlines and cooldowns: the
// times are sums of binary fractions (polls arrive every 0.5 s plus a delivery delay, so "2.5 s
// since the last pause" compares differences of such sums); without it a round or a deadline
// could slip by a whole poll.
inline constexpr double kTimeSlack = 1e-9;

class GatewayPolicy {
 public:
  virtual ~GatewayPolicy() = default;
  virtual std::string_view name() const = 0;
  // A call arrived: the policy must either gw.forward_now(...) or gw.hold(...) it.
  virtual void on_request(Gateway& gw, ProgramState& program, CallRequest call) = 0;
  virtual void on_response(Gateway& gw, ProgramState& program, const CallResult& result) {}
  // A fresh metrics snapshot of `backend` is in gw.backends().
  virtual void on_metrics(Gateway& gw, BackendIndex backend) {}
  // The program ended (release); it is erased from the table right after.
  virtual void on_release(Gateway& gw, ProgramState& program) {}
  // A backend for a program that has none yet.
  virtual BackendIndex choose_backend(Gateway& gw, const ProgramState& program);
  // Periodic work: when the policy wants on_timer() next (nullopt: never).
  virtual std::optional<Seconds> next_timer(const Gateway& gw) const { return std::nullopt; }
  virtual void on_timer(Gateway& gw) {}
  // The policy's own counters (name, value) for run summaries; empty: none reported.
  virtual std::vector<std::pair<std::string, double>> counters() const { return {}; }
};

class Gateway {
 public:
  Gateway(std::unique_ptr<GatewayPolicy> policy, const Clock& clock, GatewayDriver& driver,
          std::size_t num_backends);

  // --- called by the driver (simulator or router) ---
  void submit(CallRequest call);
  void complete(const CallResult& result);
  void update_metrics(BackendIndex backend, const BackendMetrics& metrics);
  // Ends a program: held calls are dropped (the caller owns them and answers them).
  void release(std::string_view program_id);
  std::optional<Seconds> next_timer() const { return policy_->next_timer(*this); }
  void on_timer() { policy_->on_timer(*this); }

  // --- called by policies ---
  void forward_now(ProgramState& program, CallRequest call);
  void hold(ProgramState& program, CallRequest call);
  // Unpauses the program and forwards its held calls.
  void resume(ProgramState& program);
  // Moves a program to another backend (before its next call).
  void place(ProgramState& program, BackendIndex backend);

  const Clock& clock() const { return clock_; }
  GatewayPolicy& policy() { return *policy_; }
  std::vector<BackendView>& backends() { return backends_; }
  const std::vector<BackendView>& backends() const { return backends_; }
  // Programs by id, in a stable order (ordered map: deterministic iteration for policies).
  std::map<std::string, ProgramState, std::less<>>& programs() { return programs_; }
  const std::map<std::string, ProgramState, std::less<>>& programs() const { return programs_; }
  ProgramState* find(std::string_view program_id);
  std::int64_t held_calls() const { return held_calls_; }

 private:
  std::unique_ptr<GatewayPolicy> policy_;
  const Clock& clock_;
  GatewayDriver& driver_;
  std::vector<BackendView> backends_;
  std::map<std::string, ProgramState, std::less<>> programs_;
  std::unordered_map<RequestId, std::string> in_flight_;  // call -> program id
  std::uint64_t anonymous_ = 0;
  std::int64_t held_calls_ = 0;
};

}  // namespace agentsched
