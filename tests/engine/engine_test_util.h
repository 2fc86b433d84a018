#pragma once
// Shared helpers of the engine-layer tests: a tiny profile whose every step takes exactly
// 0.125 s (so times can be worked out by hand and compared exactly), chained prefix hashes,
// and a driver that runs an EngineModel on a VirtualClock the way the simulator will.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/rng.h"
#include "engine/engine_model.h"
#include "engine/engine_policy.h"
#include "model/profile.h"

namespace agentsched::testing {

// Duration of every step of tiny_profile(): fixed_ms = 125 and all other cost terms zero.
// 0.125 is exact in binary, so sums of steps compare exactly.
inline constexpr Seconds kStep = 0.125;

// kv_cache_usage_perc is 1 - free/total: compare it to used/total with a little slack.
inline constexpr double kUsageTol = 1e-12;

// A made-up GPU and model with tiny limits: 16-token blocks, `max_num_batched_tokens` per
// step, `max_num_seqs` running, `max_model_len` context. KV capacity is set per test with
// EngineOptions::num_gpu_blocks_override.
inline Profile tiny_profile(int max_num_seqs = 4, int max_num_batched_tokens = 64,
                            int max_model_len = 512) {
  const std::string toml = R"(name = "tiny"
[gpu]
name = "test-gpu"
memory_gib = 1.0
bandwidth_gb_s = 1000.0
bf16_tflops = 100.0
[model]
name = "tiny-model"
layers = 1
hidden = 64
attention_heads = 1
kv_heads = 1
head_dim = 64
params_b = 0.001
nonembedding_params_b = 0.001
dtype_bytes = 2
max_model_len = )" + std::to_string(max_model_len) +
                           R"(
[engine]
gpu_memory_utilization = 0.5
reserved_gib = 0.0
block_size = 16
max_num_seqs = )" + std::to_string(max_num_seqs) +
                           R"(
max_num_batched_tokens = )" +
                           std::to_string(max_num_batched_tokens) +
                           R"(
[cost]
fixed_ms = 125.0
weight_factor = 0.0
kv_factor = 0.0
compute_factor = 0.0
per_request_ms = 0.0
)";
  auto profile = parse_profile(toml, "tiny-test-profile");
  if (!profile) ADD_FAILURE() << profile.error().message;
  return std::move(profile).value();
}

// Hashes of the first `n` full blocks of a prompt whose content is identified by `content`:
// prefix_hashes(c, m) is a prefix of prefix_hashes(c, n) for m <= n, just as a prompt that
// extends an earlier one shares its leading block hashes.
inline std::vector<std::uint64_t> prefix_hashes(std::uint64_t content, int n) {
  std::vector<std::uint64_t> hashes;
  std::uint64_t h = mix64(content);
  for (int i = 0; i < n; ++i) {
    h = hash_combine(h, content * 1000 + static_cast<std::uint64_t>(i));
    hashes.push_back(h);
  }
  return hashes;
}

// A KV cache of `n` blocks, the null block included.
inline EngineOptions blocks(std::int64_t n) {
  EngineOptions options;
  options.num_gpu_blocks_override = n;
  return options;
}

inline std::unique_ptr<EnginePolicy> policy_named(std::string_view name) {
  auto policy = make_engine_policy(name);
  if (!policy) ADD_FAILURE() << policy.error().message;
  return std::move(policy).value();
}

// Owns a VirtualClock and an EngineModel and drives them as the simulator does:
// begin_step -> advance the clock by the step's duration -> finish_step; while idle,
// next_wakeup()/on_timer() for pins.
class EngineDriver {
 public:
  EngineDriver(const Profile& profile, std::string_view policy, EngineOptions options = {})
      : engine_(profile, policy_named(policy), clock_, options) {}
  EngineDriver(const Profile& profile, std::unique_ptr<EnginePolicy> policy,
               EngineOptions options = {})
      : engine_(profile, std::move(policy), clock_, options) {}

  VirtualClock& clock() { return clock_; }
  Seconds now() const { return clock_.now(); }
  EngineModel& engine() { return engine_; }

  void add(EngineRequestSpec spec) {
    const RequestId id = spec.id;
    auto status = engine_.add_request(std::move(spec));
    ASSERT_TRUE(status.ok()) << "request " << id << ": " << status.error().message;
  }

  // One engine step; false (and nothing happens) when the engine has nothing to run.
  bool step() {
    const std::optional<Seconds> d = engine_.begin_step();
    if (!d) return false;
    EXPECT_GT(*d, 0.0);
    durations_.push_back(*d);
    clock_.advance_to(clock_.now() + *d);
    StepOutcome out = engine_.finish_step();
    for (const TokenEvent& t : out.tokens) tokens_.push_back(t);
    for (FinishedRequest& f : out.finished) finished_.push_back(std::move(f));
    return true;
  }

  void steps(int n) {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(step()) << "step " << i << " of " << n;
  }

  // Runs steps that start before `t`; while idle fires pin timers due by `t`; ends with the
  // clock at `t` or at the end of the step that crossed it.
  void run_until(Seconds t) {
    while (clock_.now() < t) {
      if (step()) continue;
      const std::optional<Seconds> wake = engine_.next_wakeup();
      if (wake && *wake <= t) {
        clock_.advance_to(*wake);
        engine_.on_timer();
        continue;
      }
      clock_.advance_to(t);
    }
  }

  // Runs until no step can run and no pin is left to expire.
  void run_until_idle() {
    for (int guard = 0; guard < 1000000; ++guard) {
      if (step()) continue;
      const std::optional<Seconds> wake = engine_.next_wakeup();
      if (!wake) return;
      clock_.advance_to(*wake);
      engine_.on_timer();
    }
    FAIL() << "engine did not go idle";
  }

  const std::vector<FinishedRequest>& finished() const { return finished_; }
  const std::vector<TokenEvent>& tokens() const { return tokens_; }
  const std::vector<Seconds>& durations() const { return durations_; }

  // The finished record of `id`; fails the test (and returns an empty record) if absent.
  FinishedRequest finished(RequestId id) const {
    for (const FinishedRequest& f : finished_)
      if (f.id == id) return f;
    ADD_FAILURE() << "request " << id << " has not finished";
    return {};
  }
  bool is_finished(RequestId id) const {
    for (const FinishedRequest& f : finished_)
      if (f.id == id) return true;
    return false;
  }
  std::vector<RequestId> finish_order() const {
    std::vector<RequestId> ids;
    for (const FinishedRequest& f : finished_) ids.push_back(f.id);
    return ids;
  }

  // KV usage with `used` blocks referenced, null block included.
  double usage_of(std::int64_t used) const {
    return static_cast<double>(used) / static_cast<double>(engine_.block_pool().num_blocks());
  }

 private:
  VirtualClock clock_;
  EngineModel engine_;
  std::vector<FinishedRequest> finished_;
  std::vector<TokenEvent> tokens_;
  std::vector<Seconds> durations_;
};

}  // namespace agentsched::testing
