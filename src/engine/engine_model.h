#pragma once
// EngineModel: a vLLM V1 engine as a pure state machine. It holds the paged KV cache with
// prefix caching, the waiting and running queues, chunked prefill, preemption by recompute
// and (for continuum) KV pins; it computes step times from the profile's cost model. It does
// no I/O and reads time only from the injected Clock: the simulator drives it on a virtual
// clock, the engine emulator on the steady (or scaled) clock.
//
// Driving protocol: add_request()/abort_request() at any time; when no step is in flight and
// has_work(), begin_step() schedules a batch and returns its duration d; at now + d the
// driver calls finish_step(). While idle, next_wakeup() tells when pins expire (on_timer()).
#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/backend_metrics.h"
#include "core/clock.h"
#include "core/result.h"
#include "engine/engine_policy.h"
#include "engine/engine_request.h"
#include "engine/host_kv_tier.h"
#include "engine/kv_block_pool.h"
#include "model/cost_model.h"
#include "model/profile.h"

namespace agentsched {

struct EngineOptions {
  // Report every generated token in StepOutcome::tokens (the emulator streams them).
  bool token_events = false;
  // Overrides the profile's KV capacity (blocks, null block included); 0 keeps the profile's.
  std::int64_t num_gpu_blocks_override = 0;
};

struct EngineCounters {
  double prefix_cache_queries = 0;  // tokens looked up
  double prefix_cache_hits = 0;     // tokens found
  double preemptions = 0;
  double steps = 0;
  double busy_s = 0;
  double prompt_tokens_computed = 0;
  double generation_tokens = 0;
  double pins_created = 0;
  double pins_reused = 0;   // pin ended by the program's next request
  double pins_expired = 0;  // TTL passed
  double pins_evicted = 0;  // released under KV pressure
  // Of `preemptions`: running requests preempted at a priority policy's scheduler pass so
  // that a waiting request that outranks them can run (plas); 0 for fcfs and continuum.
  double priority_preemptions = 0;
  // Host tier (all 0 while it is off).
  double host_queries = 0;          // tokens looked up in the host tier (vLLM's external queries)
  double host_hit_tokens = 0;       // tokens loaded from host instead of recomputed
  double host_loads = 0;            // load transfers (one per request whose prefix hit the host)
  double host_load_blocks = 0;      // blocks loaded
  double host_load_wait_s = 0;      // sum over loads of start -> done (the request's wait)
  double host_stores = 0;           // blocks stored (GPU evictions the host did not hold yet)
  double host_store_refreshes = 0;  // GPU evictions of contents the host already held
  double host_evictions = 0;        // host blocks dropped, LRU, to make room
  double host_link_busy_s = 0;      // time the link moved bytes
  double host_link_bytes = 0;       // bytes moved, both ways
};

class EngineModel {
 public:
  EngineModel(const Profile& profile, std::unique_ptr<EnginePolicy> policy, const Clock& clock,
              EngineOptions options = {});
  EngineModel(const EngineModel&) = delete;
  EngineModel& operator=(const EngineModel&) = delete;

  // Queues a request. Fails if the id is in use or prompt + output exceed max_model_len.
  Status add_request(EngineRequestSpec spec);
  // Aborts a waiting or running request (client gone) and frees its blocks; false if unknown.
  bool abort_request(RequestId id);

  bool has_work() const {
    return !running_.empty() || !waiting_.empty() || !loading_.empty() || !arriving_.empty();
  }
  bool step_in_flight() const { return step_in_flight_; }
  // Schedules the next batch at clock.now(); its duration, or nullopt if nothing can run.
  std::optional<Seconds> begin_step();
  // Applies the step begun last: computed tokens, sampled tokens, finished requests.
  StepOutcome finish_step();
  // While idle: when pins must be checked next (their TTL ends), a host load may be done or a
  // request is through the API server.
  std::optional<Seconds> next_wakeup() const;
  // Releases pins whose TTL has passed and queues requests whose host load is done or that
  // are through the API server; call at next_wakeup() when idle.
  void on_timer();

  BackendMetrics metrics() const;
  const EngineCounters& counters() const { return counters_; }
  const Profile& profile() const { return profile_; }
  const EnginePolicy& policy() const { return *policy_; }
  std::int64_t num_running() const { return static_cast<std::int64_t>(running_.size()); }
  // Requests waiting for their host load count as waiting, as in vLLM
  // (WAITING_FOR_REMOTE_KVS).
  std::int64_t num_waiting() const {
    return static_cast<std::int64_t>(waiting_.size() + loading_.size());
  }
  std::int64_t num_loading() const { return static_cast<std::int64_t>(loading_.size()); }
  bool host_tier_on() const { return host_ != nullptr; }
  // Host blocks held and the tier's capacity in blocks (0 / 0 while off).
  std::int64_t host_blocks_used() const { return host_ ? host_->pool.size() : 0; }
  std::int64_t host_blocks_capacity() const { return host_ ? host_->pool.capacity() : 0; }
  std::int64_t num_pins() const { return static_cast<std::int64_t>(pins_.size()); }
  bool has_pin(std::uint64_t program_key) const { return pins_.count(program_key) != 0; }
  const KvBlockPool& block_pool() const { return pool_; }
  std::int64_t block_size() const { return block_size_; }

 private:
  struct Pin {
    std::vector<BlockId> blocks;
    Seconds expires = 0;
  };

  std::int64_t blocks_needed(std::int64_t tokens) const {
    return (tokens + block_size_ - 1) / block_size_;
  }
  std::uint64_t block_hash(EngineRequest& r, std::int64_t index);
  // Allocates blocks so that r holds `tokens` tokens; false (and no change) if too few free.
  bool grow(EngineRequest& r, std::int64_t tokens);
  // Prefix-cache lookup for a request about to be admitted: the cached blocks it can use.
  const std::vector<BlockId>& find_cached_prefix(EngineRequest& r);
  void free_blocks(EngineRequest& r);
  void preempt(std::size_t running_index);
  // Blocks that admitting r with n new tokens takes from the free queue, given the cached
  // prefix the last find_cached_prefix(r) found.
  std::int64_t admission_blocks_from_free(EngineRequest& r, std::int64_t n);
  // At a priority policy's scheduler pass: preempts running requests that the best waiting
  // one outranks while it cannot be admitted.
  void preempt_for_priority(std::int64_t budget);
  // Frees the pin that ends last (continuum's first reaction to KV pressure), skipping
  // `keep_program`. False when there is none.
  bool evict_one_pin(std::uint64_t keep_program);
  void release_pin(std::uint64_t program_key);
  void release_expired_pins();
  bool program_has_waiting(std::uint64_t program_key) const;
  // Host tier: the blocks after the GPU prefix `gpu_blocks` the host holds, in a row.
  std::int64_t host_prefix_blocks(EngineRequest& r, std::int64_t gpu_blocks);
  // Moves the link to now and queues the requests whose load is done.
  void collect_host_loads();
  // Queues the requests whose time in the API server (cost.frontend_ms) is over.
  void collect_arrivals();
  // Puts a request into the scheduler's waiting queue.
  void enqueue_arrived(EngineRequest& r);
  // Lets every waiting request back from a load drop its blocks; false if none held any.
  bool release_loaded_holds();
  // Stores the contents the GPU pool evicted since the last call.
  void store_evicted_blocks();
  void finish_request(EngineRequest& r, StepOutcome& out);
  void remove_request(RequestId id);

  Profile profile_;
  CostModel cost_;
  std::unique_ptr<EnginePolicy> policy_;
  const Clock& clock_;
  EngineOptions options_;
  KvBlockPool pool_;
  std::int64_t block_size_;
  std::int64_t max_num_seqs_;
  std::int64_t max_num_batched_tokens_;
  std::int64_t max_model_len_;

  std::unordered_map<RequestId, std::unique_ptr<EngineRequest>> requests_;
  std::deque<EngineRequest*> waiting_;
  std::vector<EngineRequest*> running_;  // admission order
  std::vector<EngineRequest*> loading_;  // waiting for a host load, in load order
  // Requests still in the API server (HTTP, chat template, tokenizer, hand-off to the engine
  // core) with the time they reach the scheduler: arrival order, which is also ready order.
  std::deque<std::pair<Seconds, EngineRequest*>> arriving_;
  Seconds frontend_s_ = 0;
  std::unordered_map<std::uint64_t, Pin> pins_;
  std::unordered_map<std::uint64_t, std::int32_t> waiting_per_program_;
  std::vector<EngineRequest*> scheduled_;
  std::uint64_t next_admission_seq_ = 0;
  bool step_in_flight_ = false;
  Seconds step_started_ = 0;
  Seconds step_duration_ = 0;
  EngineCounters counters_;
  struct HostTier {
    HostKvPool pool;
    HostLink link;
    std::vector<std::uint64_t> evicted;  // GPU evictions not stored yet
  };
  std::unique_ptr<HostTier> host_;  // null: no host tier
};

}  // namespace agentsched
