#pragma once
// Engine scheduling policies: the parts of scheduling where vLLM's FCFS and Continuum
// differ. The mechanics (blocks, prefix cache, batching, pins) live in EngineModel.
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "core/named_params.h"
#include "core/result.h"
#include "engine/engine_request.h"

namespace agentsched {

class EngineModel;

class EnginePolicy {
 public:
  virtual ~EnginePolicy() = default;
  virtual std::string_view name() const = 0;
  virtual void attach(const EngineModel& engine) { engine_ = &engine; }
  virtual void on_arrival(const EngineRequest& request, Seconds now) {}
  // Puts a new request, or a preempted one (`preempted`), into the waiting queue. vLLM's
  // order: a new request at the back, a preempted one back at the front.
  virtual void enqueue(std::deque<EngineRequest*>& waiting, EngineRequest* request,
                       bool preempted) {
    if (preempted)
      waiting.push_front(request);
    else
      waiting.push_back(request);
  }
  // Index in `waiting` of the request admission tries next. Admission stops at the first
  // request that does not fit (head-of-line blocking), so this is the only choice it makes.
  virtual std::size_t pick_next(const std::deque<EngineRequest*>& waiting) const { return 0; }
  // Index in `running` (admission order) of the request to preempt when blocks run out.
  virtual std::size_t pick_victim(const std::vector<EngineRequest*>& running) const = 0;
  // Whether KV pressure may be relieved by releasing a pin rather than preempting, given how
  // many requests run (`growing`: a running request needs a block; otherwise a waiting
  // request is being admitted). Only a policy that pins is ever asked.
  virtual bool release_pin_under_pressure(std::size_t num_running, bool growing) const {
    return true;
  }
  // Seconds to keep a finished request's blocks pinned; 0 frees them at once.
  virtual Seconds pin_ttl(const EngineRequest& finished, Seconds now) { return 0; }
  virtual void on_finished(const EngineRequest& request, Seconds now) {}
  // A waiting or running request was aborted (its client is gone) and is about to vanish.
  virtual void on_aborted(const EngineRequest& request) {}

  // --- priority scheduling (plas); the defaults keep vLLM's behaviour ---
  // Called at the start of every step, before anything is scheduled. True when this step is
  // one of the policy's scheduler passes: then, before the running requests are served, the
  // engine preempts running requests that the best waiting one outranks (outranks()) for as
  // long as that waiting request cannot be admitted -- the batch is re-formed by priority.
  virtual bool on_step_begin(const std::vector<EngineRequest*>& running,
                             const std::deque<EngineRequest*>& waiting, Seconds now) {
    return false;
  }
  // Whether waiting request `a` should run instead of running request `b`.
  virtual bool outranks(const EngineRequest& a, const EngineRequest& b) const { return false; }
  // The policy's own counters (name, value), written to the run's summary.json when not empty.
  virtual std::vector<std::pair<std::string, double>> counters() const { return {}; }

 protected:
  const EngineModel* engine_ = nullptr;
};

// Continuum's parameters (docs/reference-study.md section 6), with the reference values as
// defaults.
struct ContinuumParams {
  Seconds pin_ttl_s = 2.0;               // how long a pin holds KV
  Seconds max_tool_mean_to_pin_s = 2.0;  // pin only when the tool's mean run time is <= this
};

// Engine policy parameters as name -> value (`--engine-param name=value`).
using EnginePolicyParams = NamedParams;

// The registry of engine policies: "fcfs" (vLLM V1), "continuum" and "plas" (Autellix).
// `params` are named overrides; a policy rejects names it does not have, and values out of
// range, with an error naming them.
Result<std::unique_ptr<EnginePolicy>> make_engine_policy(std::string_view name,
                                                         const ContinuumParams& continuum = {},
                                                         const EnginePolicyParams& params = {});
Result<std::unique_ptr<EnginePolicy>> make_engine_policy(std::string_view name,
                                                         const EnginePolicyParams& params);
std::vector<std::string_view> engine_policy_names();
std::vector<PolicyInfo> engine_policy_infos();

}  // namespace agentsched
