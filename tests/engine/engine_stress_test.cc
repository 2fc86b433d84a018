// Conservation under load: many agentic programs with shared prefixes on a tiny KV cache,
// driven by a small event loop like the simulator's (arrivals during steps, pin timers while
// idle). Every request must finish exactly once with exactly its output, no block may leak,
// and a seed must give the same run every time.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <tuple>

#include "engine/engine_test_util.h"

namespace agentsched {
namespace {

using testing::kUsageTol;
using testing::policy_named;
using testing::prefix_hashes;
using testing::tiny_profile;

constexpr std::int64_t kBlocks = 48;  // 47 usable; the longest context (~330 tokens) needs 21
constexpr int kPrograms = 64;
constexpr int kSharedBlocks = 3;  // system prompt common to every program

struct Finish {
  RequestId id;
  Seconds at;
  std::int64_t output;
  bool operator==(const Finish&) const = default;
};

struct StressRun {
  std::vector<Finish> finishes;
  EngineCounters counters;
  std::int64_t requests = 0;
  std::int64_t aborted = 0;
};

struct Program {
  std::uint64_t key = 0;
  int calls = 0;
  int next_call = 0;
  std::int64_t context = 0;  // prompt tokens of the next call
  Seconds next_arrival = std::numeric_limits<Seconds>::infinity();
  bool gave_up = false;  // a call was aborted: the program ends there
};

// With `aborts`, about one call in ten is aborted (client gone) a little after it arrives:
// while waiting, running, or inside the step in flight; its program ends there.
StressRun run_stress(std::string_view policy, std::uint64_t seed, bool aborts = false) {
  StressRun run;
  const Profile profile = tiny_profile(/*max_num_seqs=*/8, /*max_num_batched_tokens=*/64);
  EngineOptions options;
  options.num_gpu_blocks_override = kBlocks;
  options.token_events = true;
  VirtualClock clock;
  EngineModel engine(profile, policy_named(policy), clock, options);
  Rng rng(seed);

  const std::vector<std::uint64_t> shared = prefix_hashes(424242, kSharedBlocks);
  std::vector<Program> programs(kPrograms);
  for (int p = 0; p < kPrograms; ++p) {
    programs[p].key = static_cast<std::uint64_t>(p + 1);
    programs[p].calls = static_cast<int>(rng.uniform_int(2, 5));
    programs[p].context = kSharedBlocks * 16 + rng.uniform_int(10, 60);
    programs[p].next_arrival = rng.uniform(0.0, 10.0);
  }
  // Specs of requests in the engine, to check each outcome against.
  std::map<RequestId, EngineRequestSpec> live;
  std::map<RequestId, std::int64_t> last_token;
  std::map<RequestId, int> finished_count;
  const char* tools[] = {"", "fast", "mid", "slow"};
  std::vector<std::pair<Seconds, RequestId>> pending_aborts;
  constexpr Seconds kNever = std::numeric_limits<Seconds>::infinity();

  auto issue = [&](Program& prog) {
    EngineRequestSpec spec;
    spec.id = prog.key * 100 + static_cast<RequestId>(prog.next_call);
    spec.program_key = prog.key;
    spec.prompt_tokens = prog.context;
    spec.output_tokens = rng.uniform_int(1, 20);
    // Shared system prompt, then the program's own conversation: every call extends the
    // previous one, so its leading block hashes repeat.
    const int full = static_cast<int>(prog.context / 16);
    spec.prompt_block_hashes = shared;
    const std::vector<std::uint64_t> own = prefix_hashes(prog.key, full);
    for (int i = kSharedBlocks; i < full; ++i) spec.prompt_block_hashes.push_back(own[i]);
    spec.is_last_step = prog.next_call + 1 == prog.calls;
    spec.next_tool = spec.is_last_step ? "" : tools[rng.uniform_int(0, 3)];
    ++prog.next_call;
    prog.next_arrival = kNever;
    auto status = engine.add_request(spec);
    EXPECT_TRUE(status.ok()) << status.error().message;
    live.emplace(spec.id, spec);
    ++run.requests;
    if (aborts && rng.bernoulli(0.1))
      pending_aborts.emplace_back(clock.now() + rng.uniform(0.0, 1.5), spec.id);
  };

  auto abort_due = [&] {
    for (auto& [at, id] : pending_aborts) {
      if (at > clock.now()) continue;
      at = kNever;
      auto it = live.find(id);
      if (it == live.end()) {  // finished before the client gave up
        EXPECT_FALSE(engine.abort_request(id)) << "request " << id;
        continue;
      }
      EXPECT_TRUE(engine.abort_request(id)) << "request " << id;
      programs[it->second.program_key - 1].gave_up = true;
      live.erase(it);
      ++run.aborted;
    }
  };

  auto on_finished = [&](const FinishedRequest& f) {
    ++finished_count[f.id];
    auto it = live.find(f.id);
    if (it == live.end()) {
      ADD_FAILURE() << "unknown or twice finished request " << f.id;
      return;
    }
    const EngineRequestSpec& spec = it->second;
    EXPECT_EQ(f.output_tokens, spec.output_tokens) << "request " << f.id;
    EXPECT_EQ(f.program_key, spec.program_key);
    EXPECT_FALSE(f.aborted);
    EXPECT_EQ(last_token[f.id], spec.output_tokens) << "token events of request " << f.id;
    EXPECT_LE(f.timeline.arrival, f.timeline.first_scheduled);
    EXPECT_LE(f.timeline.first_scheduled, f.timeline.first_token);
    EXPECT_LE(f.timeline.first_token, f.timeline.finished);
    EXPECT_EQ(f.timeline.finished, clock.now());
    run.finishes.push_back({f.id, f.timeline.finished, f.output_tokens});
    Program& prog = programs[f.program_key - 1];
    if (!spec.is_last_step && !prog.gave_up) {
      // The tool result and the model's answer extend the context; the tool runs a while.
      prog.context += spec.output_tokens + rng.uniform_int(5, 30);
      const std::string& tool = spec.next_tool;
      const Seconds tool_s = tool == ""       ? rng.uniform(0.5, 4.0)
                             : tool == "fast" ? rng.uniform(0.05, 0.5)
                             : tool == "mid"  ? rng.uniform(1.0, 3.0)
                                              : rng.uniform(2.5, 6.0);
      prog.next_arrival = clock.now() + tool_s;
    }
    live.erase(it);
  };

  Seconds step_end = 0;
  for (int guard = 0;; ++guard) {
    if (guard > 2000000) {
      ADD_FAILURE() << "event loop did not terminate";
      break;
    }
    const Seconds now = clock.now();
    abort_due();
    for (Program& prog : programs)
      if (prog.next_arrival <= now) issue(prog);
    if (!engine.step_in_flight()) {
      if (auto d = engine.begin_step()) step_end = now + *d;
    }
    Seconds next = kNever;
    for (const Program& prog : programs) next = std::min(next, prog.next_arrival);
    for (const auto& pending : pending_aborts) next = std::min(next, pending.first);
    std::optional<Seconds> wake;
    if (engine.step_in_flight()) {
      next = std::min(next, step_end);
    } else if ((wake = engine.next_wakeup())) {
      next = std::min(next, std::max(now, *wake));
    }
    if (next == kNever) break;
    clock.advance_to(next);
    if (engine.step_in_flight()) {
      if (next >= step_end) {
        StepOutcome out = engine.finish_step();
        for (const TokenEvent& t : out.tokens) {
          EXPECT_EQ(t.generated, last_token[t.id] + 1) << "request " << t.id;
          last_token[t.id] = t.generated;
        }
        for (const FinishedRequest& f : out.finished) on_finished(f);
      }
    } else if (wake && *wake <= next) {
      engine.on_timer();
    }
  }

  // Every program ran all its calls; every request finished once.
  for (const Program& prog : programs) {
    if (!prog.gave_up) {
      EXPECT_EQ(prog.next_call, prog.calls);
    }
  }
  EXPECT_TRUE(live.empty()) << live.size() << " requests never finished";
  for (const auto& [id, count] : finished_count) EXPECT_EQ(count, 1) << "request " << id;
  EXPECT_EQ(static_cast<std::int64_t>(run.finishes.size()), run.requests - run.aborted);
  // No leaks: the engine is idle, no pin is left, only the null block is referenced.
  EXPECT_FALSE(engine.has_work());
  EXPECT_EQ(engine.num_pins(), 0);
  const KvBlockPool& pool = engine.block_pool();
  EXPECT_EQ(pool.ref_count(0), 1);
  for (BlockId b = 1; b < pool.num_blocks(); ++b) EXPECT_EQ(pool.ref_count(b), 0) << "block " << b;
  EXPECT_EQ(pool.num_free(), kBlocks - 1);
  EXPECT_NEAR(engine.metrics().kv_usage, 1.0 / kBlocks, kUsageTol);
  run.counters = engine.counters();
  EXPECT_DOUBLE_EQ(run.counters.pins_created, run.counters.pins_reused + run.counters.pins_expired +
                                                  run.counters.pins_evicted);
  return run;
}

bool same_counters(const EngineCounters& a, const EngineCounters& b) {
  auto tie = [](const EngineCounters& c) {
    return std::tie(c.prefix_cache_queries, c.prefix_cache_hits, c.preemptions, c.steps, c.busy_s,
                    c.prompt_tokens_computed, c.generation_tokens, c.pins_created, c.pins_reused,
                    c.pins_expired, c.pins_evicted);
  };
  return tie(a) == tie(b);
}

class EngineStress : public ::testing::TestWithParam<std::string_view> {};

TEST_P(EngineStress, EveryRequestFinishesOnceNoBlockLeaksAndRunsRepeat) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    const StressRun first = run_stress(GetParam(), seed);
    const StressRun again = run_stress(GetParam(), seed);
    EXPECT_EQ(first.finishes, again.finishes);
    EXPECT_TRUE(same_counters(first.counters, again.counters));
    // The load really exercised the cache: prefix hits, and preemptions on the tiny KV.
    EXPECT_GT(first.requests, 50);
    EXPECT_GT(first.counters.prefix_cache_hits, 0);
    EXPECT_GT(first.counters.preemptions, 0);
    std::int64_t outputs = 0;
    for (const Finish& f : first.finishes) outputs += f.output;
    EXPECT_DOUBLE_EQ(first.counters.generation_tokens, static_cast<double>(outputs));
    if (GetParam() == "continuum") {
      EXPECT_GT(first.counters.pins_created, 0);
      EXPECT_GT(first.counters.pins_reused, 0);
    } else {
      EXPECT_EQ(first.counters.pins_created, 0);
    }
  }
  // Another seed, another run.
  EXPECT_NE(run_stress(GetParam(), 1).finishes, run_stress(GetParam(), 4).finishes);
}

TEST_P(EngineStress, AbortsAtAnyPointLeakNothing) {
  for (std::uint64_t seed : {5u, 6u, 7u}) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    const StressRun first = run_stress(GetParam(), seed, /*aborts=*/true);
    const StressRun again = run_stress(GetParam(), seed, /*aborts=*/true);
    EXPECT_GT(first.aborted, 5);
    EXPECT_EQ(first.finishes, again.finishes);
    EXPECT_TRUE(same_counters(first.counters, again.counters));
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, EngineStress, ::testing::Values("fcfs", "continuum"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace agentsched
