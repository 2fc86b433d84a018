#pragma once
// plas: Autellix's program-level least attained service (PLAS) as an engine policy
// (docs/peer-autellix.md). Every call is ranked by its program's attained service S -- the
// model time its earlier calls received --: multi-level queues Q1..QK by S, FCFS by call
// arrival within a queue, a per-queue quantum after which a call drops one queue, and an
// anti-starvation rule that moves a call to Q1 when its program's waiting dwarfs its service.
// Levels are re-evaluated every `pass_steps` engine steps (a scheduler pass); at a pass the
// engine re-forms the batch by priority: running calls that the best waiting call outranks
// are preempted while it does not fit (EnginePolicy::on_step_begin / outranks).
//
// Preemption is recompute, as on a vLLM without swap space: the paper swaps the KV to host
// memory. HOOK (host tier): once the engine model has a host tier, a priority preemption
// should offload instead of dropping the KV -- EngineModel::preempt() is the one place.
#include <cstdint>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/engine_policy.h"

namespace agentsched {

// The paper publishes no values for these; ours, with their reasons, are in
// docs/peer-autellix.md (and the sweep over them).
struct PlasParams {
  double queues = 5;         // K: queues Q1..QK (an integer, 1..32)
  double quantum_s = 5;      // Q1's quantum in model seconds; Q_{i+1}'s is quantum_ratio x Q_i's
  double quantum_ratio = 2;  // geometric quanta; Q_i holds S in [sum of quanta below it, + its own)
  double beta = 4;        // anti-starvation: to Q1 when (W + wait) / (S + service) >= beta; 0: off
  double pass_steps = 4;  // N: a scheduler pass every N engine steps (an integer >= 1)

  // Its parameter table (plas.cc), for parse_params and describe_params.
  static const ParamTable<PlasParams> table;
};

struct PlasStats {
  std::int64_t passes = 0;
  std::int64_t demotions = 0;   // a call used up its queue's quantum and dropped one queue
  std::int64_t promotions = 0;  // anti-starvation moves to Q1
};

class PlasPolicy final : public EnginePolicy {
 public:
  explicit PlasPolicy(PlasParams params = {});
  std::string_view name() const override { return "plas"; }

  void on_arrival(const EngineRequest& r, Seconds now) override;
  void enqueue(std::deque<EngineRequest*>& waiting, EngineRequest* r, bool preempted) override;
  std::size_t pick_next(const std::deque<EngineRequest*>& waiting) const override;
  std::size_t pick_victim(const std::vector<EngineRequest*>& running) const override;
  void on_finished(const EngineRequest& r, Seconds now) override;
  void on_aborted(const EngineRequest& r) override;
  bool on_step_begin(const std::vector<EngineRequest*>& running,
                     const std::deque<EngineRequest*>& waiting, Seconds now) override;
  bool outranks(const EngineRequest& a, const EngineRequest& b) const override;
  std::vector<std::pair<std::string, double>> counters() const override;

  // For tests and docs.
  const PlasParams& params() const { return p_; }
  const PlasStats& plas_stats() const { return stats_; }
  // Queue of a program with attained service `s` (0-based: 0 is Q1).
  int level_for_service(Seconds s) const;
  // Current queue of a waiting or running request (0-based), -1 if unknown.
  int level_of(RequestId id) const;
  Seconds attained_service(std::uint64_t program_key) const;
  Seconds program_wait(std::uint64_t program_key) const;
  // Quantum of queue `level` (0-based).
  Seconds quantum(int level) const;

 private:
  struct Call {
    std::uint64_t seq = 0;  // arrival order: FCFS within a queue
    int level = 0;
    Seconds level_start = 0;  // the call's model time when it entered its queue
  };
  struct Program {
    Seconds service = 0;  // S: model time of its finished calls
    Seconds wait = 0;     // W: engine waiting time of its finished calls
  };
  std::tuple<int, std::uint64_t> key(const EngineRequest& r) const;
  void reevaluate(const EngineRequest& r, Seconds now);

  PlasParams p_;
  int queues_;
  PlasStats stats_;
  std::unordered_map<RequestId, Call> calls_;
  std::unordered_map<std::uint64_t, Program> programs_;
  std::uint64_t next_seq_ = 0;
  std::int64_t steps_ = 0;
};

}  // namespace agentsched
