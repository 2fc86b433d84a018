#pragma once
// One chat-completion request as the engine model sees it.
#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "engine/kv_block_pool.h"

namespace agentsched {

struct EngineRequestSpec {
  RequestId id = 0;
  // Stable key of the request's program (job_id); 0 for a request outside any program.
  std::uint64_t program_key = 0;
  std::int64_t prompt_tokens = 0;
  // Tokens the request generates before it finishes (max_tokens with ignore_eos, or the
  // scripted output of the workload).
  std::int64_t output_tokens = 1;
  // Chained prefix hashes of the prompt's full blocks (block i covers tokens [16i, 16i+16)).
  // Equal hashes mean equal content from the start of the prompt, so a prompt that extends
  // an earlier one shares its leading hashes. May be shorter than the number of full blocks;
  // the rest count as content nobody else has.
  std::vector<std::uint64_t> prompt_block_hashes;
  bool is_last_step = false;
  // The tool the program runs after this call ("" when it answers the user); read by
  // continuum to decide whether to pin.
  std::string next_tool;
};

// Where a request spent its time inside the engine; written to the per-program timelines.
struct RequestTimeline {
  Seconds arrival = 0;
  Seconds first_scheduled = -1;  // first step that computed any of its tokens
  Seconds first_token = -1;      // end of the step that produced its first output token
  Seconds finished = -1;
  Seconds waiting_s = 0;           // total time in the waiting queue (incl. after preemption)
  Seconds prefill_s = 0;           // time in steps that computed its prompt (or recompute)
  Seconds decode_s = 0;            // time in steps that computed its output tokens
  std::int64_t cached_tokens = 0;  // prefix-cache hit tokens at first admission
  std::int64_t computed_prompt_tokens = 0;  // prompt/recompute tokens actually computed
  std::int32_t preemptions = 0;
};

// Engine-internal state of a request.
struct EngineRequest {
  EngineRequestSpec spec;
  std::int64_t num_tokens = 0;    // prompt + generated so far
  std::int64_t num_computed = 0;  // tokens whose KV is in the cache
  std::int64_t generated = 0;
  std::vector<BlockId> blocks;
  std::vector<std::uint64_t> block_hashes;  // prefix hashes known so far (prompt, then output)
  // Cached prefix found by the last lookup while waiting; revalidated block by block on the
  // next attempt, so a head-of-line request blocked for many steps is not looked up in
  // full every step.
  std::vector<BlockId> probed_prefix;
  std::int64_t num_cached_blocks = 0;  // leading blocks already registered in the cache
  std::int64_t scheduled_tokens = 0;   // in the step in flight
  std::uint64_t admission_seq = 0;
  Seconds waiting_since = 0;
  bool running = false;
  bool aborted = false;
  bool admitted_once = false;
  // Still in the API server (cost.frontend_ms): the scheduler has not seen it yet.
  bool in_api_server = false;
  // Host tier: the request's prefix is being loaded from host memory (it holds the GPU
  // blocks the load fills and waits outside the queue), or was loaded and the blocks it holds
  // are its prefix, ready for admission.
  bool host_loading = false;
  bool host_loaded = false;
  std::uint64_t host_load_id = 0;
  Seconds host_load_started = 0;
  RequestTimeline timeline;
};

struct FinishedRequest {
  RequestId id = 0;
  std::uint64_t program_key = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t output_tokens = 0;
  bool aborted = false;
  RequestTimeline timeline;
};

struct TokenEvent {
  RequestId id = 0;
  std::int64_t generated = 0;  // output tokens so far, after this step
};

struct StepOutcome {
  std::vector<TokenEvent> tokens;  // filled only when token events are enabled
  std::vector<FinishedRequest> finished;
};

}  // namespace agentsched
