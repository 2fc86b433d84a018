#pragma once
// programpool: the vLLM router's program scheduling (vllm-project/router), reproduced rule
// by rule as a gateway policy (docs/peer-vllm-router.md). Admission control in front of stock
// vLLM, no KV pinning: a program is Active (its calls go through at once; Reasoning with a
// call in flight, Acting between calls) or Paused (its calls wait in the gateway's per-program
// FIFO). A paused program with a held call waits for admission, which needs
//   - no fresh /metrics reading showing `waiting_threshold` or more requests queued in the
//     engine, and then
//   - a forced resume (its deadline passed), or room: active + 1 <= max_active,
//     used + required <= capacity and used + required + growth reserve <= capacity.
// Waiters are resumed forced first, then not-just-yielded, then most recently finished first
// (never-run programs last); one that does not fit is skipped, not waited on. After a call, a
// program stays Acting for a Progress-TTL fitted to the finish-to-next-arrival gaps
// (log-normal, once `ttl_samples` gaps are seen; 0 before), then is paused. After
// `yield_rounds` rounds it yields once to a bigger waiter. Every `housekeeping_s`: expired
// TTLs pause, long-idle paused programs are forgotten, and capacity repair pauses programs
// when the Active ones no longer fit.
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/result.h"
#include "gateway/gateway.h"
#include "gateway/policy_params.h"

namespace agentsched {

// Every constant by name; defaults are the router's published defaults where it has them,
// ours (documented in docs/peer-vllm-router.md) where it leaves them to the operator.
struct ProgramPoolParams {
  // token_capacity_per_target: tokens a backend holds. The router takes it from its operator;
  // 0 (ours) reads each backend's KV capacity from /metrics (cache_config_info).
  double token_capacity = 0;
  double metrics_fresh_s = 3;     // a reading at most this old is fresh
  double waiting_threshold = 1;   // no admission while a fresh reading shows this many waiting
  double max_active = 64;         // Active programs per backend
  double decode_buffer = 100;     // tokens added to a program's private tokens
  double shared_prefix = 0;       // tokens of a prompt every program shares (not private)
  double max_acting_ttl_s = 10;   // Progress-TTL upper bound
  double ttl_samples = 100;       // gaps seen before the TTL is fitted; also the window kept
  double ttl_cost_factor = 1.85;  // C = prefill time of the program's context x this
  // Prefill rate for that cost (ours: the router measures it; the reference RTX 5090 with
  // Qwen3-8B prefills about 10k tokens/s by the cost model of profile rtx5090-qwen3-8b).
  double prefill_tokens_per_s = 10000;
  double yield_rounds = 14;   // rounds since activation after which a program may yield
  double housekeeping_s = 1;  // period of TTL expiry, idle drop and capacity repair
  double idle_drop_s = 1800;  // forget programs paused and idle this long
  double force_factor = 3;    // force-resume deadline = factor x rounds ahead / rate...
  double force_min_s = 30;    // ...clamped to [force_min_s, force_max_s]
  double force_max_s = 300;
  double reserve_scale = 1;  // growth reserve multiplier (1: as published; 0: none)
  double resume_fcfs = 0;    // 1: resume waiters by queue time instead of MRU

  // Its parameter table (programpool.cc), for apply_params and describe_params.
  static const ParamTable<ProgramPoolParams> table;
};

struct ProgramPoolStats {
  std::int64_t activations = 0;         // paused -> active (new programs included)
  std::int64_t forced_activations = 0;  // of those, by the force-resume deadline
  std::int64_t blocked_by_waiting = 0;  // admission passes stopped by engine waiting >= threshold
  std::int64_t skipped_no_room = 0;     // candidates skipped for capacity, reserve or max_active
  std::int64_t paused_ttl = 0;          // paused when their Progress-TTL ended (0 included)
  std::int64_t paused_yield = 0;
  std::int64_t paused_repair = 0;  // idle programs paused by capacity repair
  std::int64_t repair_marked = 0;  // reasoning programs marked to pause when idle
  std::int64_t acting_hits = 0;    // calls that arrived while their program was Acting
  std::int64_t ttl_set = 0;        // TTLs chosen after a call
  double ttl_sum_s = 0;
  std::int64_t dropped_idle = 0;
  std::int64_t held_past_600s = 0;  // calls a router would have failed (queue timeout)
};

class ProgramPoolPolicy final : public PolicyWithParams<ProgramPoolParams> {
 public:
  using PolicyWithParams::PolicyWithParams;

  void on_request(Gateway& gw, ProgramState& program, CallRequest call) override;
  void on_response(Gateway& gw, ProgramState& program, const CallResult& result) override;
  void on_metrics(Gateway& gw, BackendIndex backend) override;
  void on_release(Gateway& gw, ProgramState& program) override;
  BackendIndex choose_backend(Gateway& gw, const ProgramState& program) override;
  std::optional<Seconds> next_timer(const Gateway& gw) const override;
  void on_timer(Gateway& gw) override;
  std::vector<std::pair<std::string, double>> counters() const override;

  // For tests and docs.
  const ProgramPoolStats& pool_stats() const { return stats_; }
  bool is_active(const std::string& id) const;
  bool is_known(const std::string& id) const { return progs_.count(id) != 0; }
  // Seconds the program stays Acting after its last call (-1: not Acting).
  Seconds acting_until(const std::string& id) const;
  Seconds force_deadline(const std::string& id) const;
  // The Progress-TTL a program of `context` tokens on `backend` would get now.
  Seconds progress_ttl(BackendIndex backend, std::int64_t context) const;
  // Used tokens of `backend` as admission sees them now (fresh or stale formula).
  double used_tokens(const Gateway& gw, BackendIndex backend) const;
  double growth_reserve(BackendIndex backend) const;
  std::optional<double> capacity(const Gateway& gw, BackendIndex backend) const;
  double completion_rate(BackendIndex backend) const;

 private:
  struct Prog {
    BackendIndex rank = 0;
    bool active = false;
    Seconds activated_at = 0;
    std::int64_t rounds = 0;  // calls completed since activation
    bool just_yielded = false;
    bool yielded = false;          // in this segment
    bool pause_when_idle = false;  // marked by capacity repair
    Seconds acting_until = -1;     // -1: no TTL running
    Seconds queued_at = -1;        // waiting for admission since; -1: not waiting
    Seconds force_at = std::numeric_limits<double>::infinity();
    Seconds last_finish = -1;  // -1: never finished a call (MRU: last)
    bool gap_open = false;     // finished, next arrival not seen yet
    Seconds paused_since = 0;
    bool counted_timeout = false;
    std::int64_t context = 0;         // total tokens of its last response
    std::int64_t pending_prompt = 0;  // prompt estimate of its latest call
  };
  struct Rank {
    double dispatched_since_scrape = 0;  // tokens of calls sent since the last reading
    std::deque<double> gaps;             // finish-to-next-arrival, seconds
    std::deque<Seconds> completions;     // times of recent completions
  };

  Rank& rank(BackendIndex b) const;
  double required(const Prog& p) const;
  bool fresh(const Gateway& gw, BackendIndex b) const;
  bool waiting_blocks(const Gateway& gw, BackendIndex b) const;
  std::int64_t active_count(BackendIndex b) const;
  double acting_tokens(const Gateway& gw, BackendIndex b) const;
  std::int64_t reasoning_count(const Gateway& gw, BackendIndex b) const;
  bool fits(const Gateway& gw, BackendIndex b, const Prog& p) const;
  Seconds deadline_for(BackendIndex b, Seconds now) const;
  void activate(Gateway& gw, ProgramState& program, Prog& p, bool forced);
  void pause(Gateway& gw, ProgramState& program, Prog& p);
  void schedule(Gateway& gw);
  void housekeeping(Gateway& gw);
  void repair(Gateway& gw, BackendIndex b);
  double mean_of(const std::deque<double>& window) const;
  void push_window(std::deque<double>& window, double value) const;

  ProgramPoolStats stats_;
  std::map<std::string, Prog, std::less<>> progs_;
  mutable std::vector<Rank> ranks_;
  std::deque<double> growth_;       // context growth per round, tokens
  std::deque<double> completions_;  // completion tokens per call
  std::deque<double> prompts_;      // prompt tokens per call
  Seconds next_housekeeping_ = -1;
};

}  // namespace agentsched
