#pragma once
// admit: agentsched's own gateway policy. Admission control in front of a stock vLLM engine:
// it lets a new program start (forwards its first call) only while the backend has KV room
// for it, so the programs already running keep their prefixes cached; every call of an
// admitted program goes through at once (without a host tier, by default). Held programs are
// admitted strictly in arrival order (FIFO by program), so a program's wait is bounded by the
// work ahead of it; an optional hard bound (max_wait_s, off by default) admits a program held
// that long whatever the load. It needs no hand-set budget: KV capacity comes from the backend's
// cache_config_info and program sizes from observed usage. On a backend with a host-memory
// KV tier the bound is the tier's (see tier_high_water): a program between calls then costs
// no GPU KV, only room on the host.
// docs/gateway.md explains the design and every parameter.
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/result.h"
#include "gateway/gateway.h"
#include "gateway/policy_params.h"

namespace agentsched {

struct AdmitParams {
  // A backend has room while its KV usage (last poll) is below this...
  double high_water = 0.90;
  // ...and at most this many requests wait in its queue (0: an engine with a queue is full).
  double max_engine_waiting = 0;
  // If > 0, no program waits in the gateway longer than this, whatever the load (0: off).
  double max_wait_s = 0;
  // Output tokens expected of a call before any has been observed; then the running mean of
  // observed completions is used.
  double initial_output_estimate = 500;
  // Whether a later call of an admitted program may wait in the gateway. 0 (default): never.
  // 1: while its backend's engine queues more than max_engine_waiting requests; 2: also while
  // the KV below high_water (last poll, less what was sent since) cannot hold the program's
  // context plus the expected output. Either way a call also waits behind an older admitted
  // program of its backend that waits, held programs resume oldest admitted first, and
  // nothing waits while none of the backend's admitted programs is in a call.
  double hold_admitted = 0;
  // On a backend that reports a host-memory KV tier (cache_config_info num_cpu_blocks): the
  // share of GPU + host KV that the admitted programs' own context (what they do not share
  // with other programs) may fill. Replaces every rule above on such a backend: new programs
  // are admitted while theirs fits, and a later call waits while the programs admitted
  // before it, with it, do not fit (the oldest always runs).
  double tier_high_water = 0.75;

  // Its parameter table (admit.cc), for apply_params and describe_params.
  static const ParamTable<AdmitParams> table;
};

struct AdmitStats {
  std::int64_t admitted_at_once = 0;   // first call forwarded on arrival
  std::int64_t admitted_on_room = 0;   // held, then admitted when room appeared
  std::int64_t admitted_on_bound = 0;  // held until max_wait_s, then admitted anyway
  std::int64_t calls_held = 0;         // later calls of admitted programs held
  Seconds longest_wait_s = 0;
};

class AdmitPolicy final : public PolicyWithParams<AdmitParams> {
 public:
  using PolicyWithParams::PolicyWithParams;

  void on_request(Gateway& gw, ProgramState& program, CallRequest call) override;
  void on_response(Gateway& gw, ProgramState& program, const CallResult& result) override;
  void on_metrics(Gateway& gw, BackendIndex backend) override;
  void on_release(Gateway& gw, ProgramState& program) override;
  BackendIndex choose_backend(Gateway& gw, const ProgramState& program) override;
  std::optional<Seconds> next_timer(const Gateway& gw) const override;
  void on_timer(Gateway& gw) override;

  const AdmitStats& stats() const { return stats_; }
  std::size_t waiting_programs() const { return queue_.size(); }
  bool is_admitted(const std::string& program_id) const { return admitted_.count(program_id) != 0; }

 private:
  struct Waiting {
    std::string program_id;
    Seconds since = 0;
    std::int64_t tokens = 0;  // estimated footprint of its first call
  };
  struct BackendState {
    // Tokens of programs admitted since the backend's last poll: the poll does not show them
    // yet, so they are subtracted from the headroom it reports.
    double admitted_since_poll = 0;
  };
  // An admitted program's expected KV footprint and how much of its life it spends in calls.
  struct Active {
    BackendIndex backend = 0;
    double footprint = 0;  // context of its last response (or first prompt) + output estimate
    Seconds admitted_at = 0;
    Seconds call_started = -1;  // -1 between calls
    double in_call_s = 0;
    std::int64_t seq = 0;  // admission order
    bool held = false;     // a later call waits in the gateway
    // Prompt tokens its first call found cached, i.e. shared with programs before it (-1:
    // no response yet; 0: none, or the cache was cold).
    double shared = -1;
  };

  BackendState& state(const Gateway& gw, BackendIndex backend);
  double output_estimate() const;
  // KV tokens free for new programs on `backend`, from its last poll; +inf before any poll
  // or when the backend does not report its capacity (then nothing is known to be full).
  double headroom_tokens(const Gateway& gw, BackendIndex backend);
  bool has_room(const Gateway& gw, BackendIndex backend, double tokens);
  // Share of an admitted program's life spent inside calls, from the programs seen so far:
  // only then does its KV need to be resident. 1 until a minute of program life is observed.
  double duty_cycle(Seconds now) const;
  // Expected resident KV of the programs admitted on `backend`.
  double admitted_demand(BackendIndex backend, Seconds now) const;
  // Room on its backend for a later call of an admitted program needing `tokens`: on a tiered
  // backend, fits_in_admission_order; else (hold_admitted) no engine queue and, with 2, enough
  // headroom. Always while none of the backend's admitted programs is in a call.
  bool call_has_room(const Gateway& gw, const Active& program, double tokens);
  // Whether an admitted program placed on `backend` has a call waiting in the gateway.
  bool holds_admitted(BackendIndex backend) const;
  // Whether `backend` reports a host-memory KV tier (then the tier rules apply).
  static bool tiered(const Gateway& gw, BackendIndex backend);
  // GPU + host KV tokens the admitted programs' own context may fill on a tiered backend.
  double tier_budget(const Gateway& gw, BackendIndex backend) const;
  // What that budget has left after the own context of the programs admitted there.
  double tier_room(const Gateway& gw, BackendIndex backend) const;
  // The backend with the most headroom; with `tokens` >= 0, among those with room for a new
  // program of that many tokens (has_room), nullopt when none has.
  std::optional<BackendIndex> most_headroom(const Gateway& gw, double tokens);
  // The part of an admitted program's footprint no other program shares: its footprint less
  // its first call's cached prompt tokens (a cold first call counts as the mean of the warm
  // ones).
  double own_tokens(const Active& a) const;
  double mean_shared() const;
  // Tiered backend: whether the program and every program admitted before it on its backend
  // fit the budget together (the oldest always does).
  bool fits_in_admission_order(const Gateway& gw, const Active& program) const;
  // Forwards held calls of admitted programs, oldest admitted first per backend, while there
  // is room.
  void resume_admitted(Gateway& gw);
  void admit(Gateway& gw, const std::string& program_id, BackendIndex backend);
  // Admits waiting programs from the head while there is room (and those past the bound).
  void admit_from_queue(Gateway& gw);

  AdmitStats stats_;
  std::vector<BackendState> backends_;
  std::deque<Waiting> queue_;  // arrival order
  std::map<std::string, Active, std::less<>> admitted_;
  std::map<std::int64_t, std::string> held_admitted_;  // by admission order, oldest first
  std::int64_t next_seq_ = 0;
  double finished_in_call_s_ = 0;  // of released programs
  double finished_life_s_ = 0;
  double warm_shared_sum_ = 0;  // first calls that found a cached prefix: its tokens
  std::int64_t warm_shared_n_ = 0;
  double observed_output_sum_ = 0;
  std::int64_t observed_outputs_ = 0;
};

}  // namespace agentsched
