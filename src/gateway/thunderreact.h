#pragma once
// thunderreact: the program-aware router policy of the reference study (docs/reference-study.md
// section 6), reproduced rule by rule so that the simulator and the live router compare
// against what was actually measured. Per backend it watches KV usage from /metrics and pauses
// whole programs (holding their next call in the gateway) when usage is high, and resumes them
// when it is low again. docs/gateway.md lists every rule and every assumption made here.
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/result.h"
#include "gateway/gateway.h"
#include "gateway/policy_params.h"

namespace agentsched {

// Every constant of the reference, by name; the defaults are the reference's values.
struct ThunderReactParams {
  double pause_threshold = 0.95;    // pause when usage >= this
  double pause_target = 0.90;       // pause amount = (usage - pause_target) x budget x fraction
  double pause_cooldown_s = 2.5;    // at least this long since the backend's last pause
  double resume_threshold = 0.85;   // resume when usage < this
  double resume_target = 0.90;      // resume amount = (resume_target - usage) x budget x fraction
  double resume_cooldown_s = 10.0;  // at least this long since the backend's last resume
  double fraction = 0.2;
  // Tokens that usage 1.0 stands for. The reference hard-coded 788,976 (a larger GPU than
  // the one it ran on, docs/reference-study.md 7.6); 0 takes each backend's own KV capacity
  // from /metrics.
  double budget = 788976;
  double output_estimate = 500;  // tokens a call is expected to add to its context
  double waiting_weight = 4;     // placement load = running + waiting_weight x waiting
  double move_to_idle = 1;       // with several backends, move small programs before pausing

  // Its parameter table (thunderreact.cc): parameters by name over the defaults, unknown
  // names and out-of-range values refused (apply_params), and documented (describe_params).
  static const ParamTable<ThunderReactParams> table;
};

// What the policy did, for tests and run summaries.
struct ThunderReactStats {
  std::int64_t pause_rounds = 0;
  std::int64_t paused = 0;        // programs paused at once (not in flight)
  std::int64_t pause_marked = 0;  // in-flight programs marked to pause on return
  std::int64_t paused_on_return = 0;
  std::int64_t resume_rounds = 0;
  std::int64_t resumed = 0;
  std::int64_t moved = 0;             // programs moved to an idle backend
  std::int64_t last_step_passed = 0;  // is_last_step calls let through while paused
};

class ThunderReactPolicy final : public PolicyWithParams<ThunderReactParams> {
 public:
  using PolicyWithParams::PolicyWithParams;

  void on_request(Gateway& gw, ProgramState& program, CallRequest call) override;
  void on_response(Gateway& gw, ProgramState& program, const CallResult& result) override;
  void on_metrics(Gateway& gw, BackendIndex backend) override;
  void on_release(Gateway& gw, ProgramState& program) override;
  BackendIndex choose_backend(Gateway& gw, const ProgramState& program) override;

  // context (last response's total tokens) + output estimate; before any response, the prompt
  // estimate of the program's latest call stands in for the context.
  std::int64_t estimated_tokens(const ProgramState& program) const;
  const ThunderReactStats& stats() const { return stats_; }

 private:
  struct BackendState {
    // Never paused/resumed yet: the first round is not held back by a cooldown.
    Seconds last_pause = -std::numeric_limits<double>::infinity();
    Seconds last_resume = -std::numeric_limits<double>::infinity();
  };

  BackendState& state(const Gateway& gw, BackendIndex backend);
  double budget_of(const Gateway& gw, BackendIndex backend) const;
  bool has_paused(const Gateway& gw, BackendIndex backend) const;
  // Moves small idle programs off `backend`; returns the estimated tokens moved.
  double move_to_idle_backends(Gateway& gw, BackendIndex backend, double amount);
  void pause_round(Gateway& gw, BackendIndex backend, double usage);
  void resume_round(Gateway& gw, BackendIndex backend, double usage);

  ThunderReactStats stats_;
  std::vector<BackendState> backends_;
  // Prompt estimate of each program's latest call, used until its first response arrives.
  std::map<std::string, std::int64_t, std::less<>> prompt_estimate_;
};

}  // namespace agentsched
