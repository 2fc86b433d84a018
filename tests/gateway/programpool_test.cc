// The `programpool` policy: the vLLM router's program scheduling (docs/peer-vllm-router.md),
// rule by rule on the virtual clock.
#include <gtest/gtest.h>

#include <cmath>

#include "core/hash.h"
#include "gateway/programpool.h"
#include "gateway_harness.h"

namespace agentsched {
namespace {

using test::GatewayHarness;

GatewayHarness harness(ProgramPoolParams p, std::size_t backends = 1) {
  return GatewayHarness(std::make_unique<ProgramPoolPolicy>(p), backends);
}

ProgramPoolParams with_capacity(double tokens) {
  ProgramPoolParams p;
  p.token_capacity = tokens;
  return p;
}

ProgramPoolPolicy& policy(GatewayHarness& h) {
  return static_cast<ProgramPoolPolicy&>(h.gw.policy());
}

TEST(ProgramPool, CapacityFromMetricsWaitsForTheFirstReading) {
  auto h = harness(ProgramPoolParams{});  // token_capacity 0: from /metrics
  const RequestId a = h.call("a");
  EXPECT_FALSE(h.forwarded(a));  // a new program is queued Paused; capacity unknown yet
  EXPECT_TRUE(h.state("a").paused);
  BackendMetrics m;
  m.num_gpu_blocks = 100;
  m.block_size = 16;  // 1,600 tokens
  h.gw.update_metrics(0, m);
  EXPECT_TRUE(h.forwarded(a));  // 1,000 + 100 decode buffer fits 1,600
  EXPECT_EQ(*policy(h).capacity(h.gw, 0), 1600);
  EXPECT_FALSE(h.forwarded(h.call("b")));  // fresh: 0 x 1600 + 0 Acting + 1,100 sent since
  // a before the reading (capacity unknown), b for room.
  EXPECT_EQ(policy(h).pool_stats().skipped_no_room, 2);
}

TEST(ProgramPool, NoAdmissionWhileAFreshReadingShowsWaiting) {
  auto h = harness(with_capacity(100000));
  h.metrics(0, 0.1, /*running=*/4, /*waiting=*/1);
  h.at(1);
  const RequestId a = h.call("a");
  EXPECT_FALSE(h.forwarded(a));
  EXPECT_GE(policy(h).pool_stats().blocked_by_waiting, 1);
  // Still fresh at 3 s of age.
  h.at(3);
  h.gw.on_timer();
  EXPECT_FALSE(h.forwarded(a));
  // Stale after 3 s (the next housekeeping pass, at 4): admission by the Active programs'
  // tokens alone.
  h.at(4);
  h.gw.on_timer();
  EXPECT_TRUE(h.forwarded(a));
}

TEST(ProgramPool, ANewReadingWithoutWaitingAdmits) {
  auto h = harness(with_capacity(100000));
  h.metrics(0, 0.1, 4, 2);
  const RequestId a = h.call("a");
  EXPECT_FALSE(h.forwarded(a));
  h.at(0.5);
  h.metrics(0, 0.1, 4, 0);
  EXPECT_TRUE(h.forwarded(a));
  EXPECT_TRUE(policy(h).is_active("a"));
}

TEST(ProgramPool, CapacityWithoutHeadOfLineBlocking) {
  // No reading: used = the Active programs' private tokens (context + 100).
  auto h = harness(with_capacity(5000));
  EXPECT_TRUE(h.forwarded(h.call("a", 2000)));  // 2,100
  EXPECT_TRUE(h.forwarded(h.call("b", 2000)));  // 4,200
  const RequestId c = h.call("c", 2000);        // 6,300 > 5,000
  EXPECT_FALSE(h.forwarded(c));
  EXPECT_DOUBLE_EQ(policy(h).used_tokens(h.gw, 0), 4200);
  const RequestId d = h.call("d", 500);  // 4,800: admitted past c
  EXPECT_TRUE(h.forwarded(d));
  EXPECT_FALSE(h.forwarded(c));
}

TEST(ProgramPool, AtMostMaxActivePrograms) {
  auto p = with_capacity(1e9);
  p.max_active = 2;
  auto h = harness(p);
  EXPECT_TRUE(h.forwarded(h.call("a")));
  EXPECT_TRUE(h.forwarded(h.call("b")));
  EXPECT_FALSE(h.forwarded(h.call("c")));
}

TEST(ProgramPool, GrowthReserveOfTheActivePrograms) {
  auto h = harness(with_capacity(20000));
  // a: 1,000 -> total 1,100 (TTL 0 before 100 gaps: paused after each call), then 1,600 ->
  // total 2,000: one growth sample of 900 tokens.
  h.done(h.call("a", 1000), 1000, 100);
  EXPECT_FALSE(policy(h).is_active("a"));
  h.at(1);
  h.done(h.call("a", 1600), 1600, 400);
  h.at(2);
  ASSERT_TRUE(h.forwarded(h.call("a", 2500)));
  // a is Active with 0 rounds of its 14: reserve 900 x 14.
  EXPECT_DOUBLE_EQ(policy(h).growth_reserve(0), 12600);
  // b: 2,600 + 4,100 <= 20,000 and + 12,600 = 19,300 <= 20,000.
  EXPECT_TRUE(h.forwarded(h.call("b", 4000)));
  // c: 6,700 + 1,100 fits, but the reserve is now 900 x 28 = 25,200.
  EXPECT_FALSE(h.forwarded(h.call("c", 1000)));
  EXPECT_DOUBLE_EQ(policy(h).growth_reserve(0), 25200);

  auto p = with_capacity(20000);
  p.reserve_scale = 0;
  auto h2 = harness(p);
  h2.done(h2.call("a", 1000), 1000, 100);
  h2.done(h2.call("a", 1600), 1600, 400);
  h2.call("a", 2500);
  h2.call("b", 4000);
  EXPECT_TRUE(h2.forwarded(h2.call("c", 1000)));
}

// Gaps of exactly 1 s fit a log-normal with mu = 0 and sigma ~ 0: the next call comes at
// 1 s. With a 10,000-token context the re-prefill cost is C = 10,000 / 10,000 x 1.85 =
// 1.85 s; on the grid of upper / 200 = 0.00925 s every d >= 1 scores C - 1 = 0.85 and d < 1
// scores -d, so the TTL is the first grid point past 1: 109 x 0.00925 = 1.00825 s. With
// 5,000 tokens C = 0.925 < 1: keeping never pays, TTL 0.
TEST(ProgramPool, ProgressTtlIsZeroUntilFittedThenLogNormal) {
  auto p = with_capacity(1e6);
  p.ttl_samples = 4;
  auto h = harness(p);
  Seconds t = 0;
  for (int i = 0; i < 4; ++i) {
    h.at(t);
    const RequestId id = h.call("a", 9000);
    EXPECT_TRUE(h.forwarded(id));
    h.at(t + 0.5);
    h.done(id, 9900, 100);
    EXPECT_FALSE(policy(h).is_active("a")) << "TTL 0 before the fit, call " << i;
    EXPECT_EQ(policy(h).progress_ttl(0, 10000), 0);
    t += 1.5;  // the next call 1 s after this one's end
  }
  h.at(t);
  const RequestId fifth = h.call("a", 9000);  // the 4th gap
  EXPECT_NEAR(policy(h).progress_ttl(0, 10000), 1.00825, 1e-9);
  EXPECT_EQ(policy(h).progress_ttl(0, 5000), 0);
  h.at(t + 0.5);
  h.done(fifth, 9900, 100);
  EXPECT_TRUE(policy(h).is_active("a"));
  EXPECT_NEAR(policy(h).acting_until("a"), t + 0.5 + 1.00825, 1e-9);
  // A call within the TTL goes straight through.
  h.at(t + 1.2);
  const RequestId sixth = h.call("a", 9000);
  EXPECT_TRUE(h.forwarded(sixth));
  EXPECT_EQ(policy(h).pool_stats().acting_hits, 1);
  // Once idle past its TTL the program is paused by the housekeeping pass.
  h.at(t + 1.5);
  h.done(sixth, 9900, 100);  // gaps now 1, 1, 1, 0.7: a new TTL > 0
  const Seconds until = policy(h).acting_until("a");
  ASSERT_GT(until, t + 1.5);
  h.at(until + 0.5);
  h.gw.on_timer();
  EXPECT_FALSE(policy(h).is_active("a"));
  EXPECT_TRUE(h.state("a").paused);
}

TEST(ProgramPool, ResumesMostRecentlyFinishedFirstNeverRunLast) {
  for (const bool fcfs : {false, true}) {
    auto p = with_capacity(1100);  // one 1,000-token program at a time
    p.resume_fcfs = fcfs ? 1 : 0;
    auto h = harness(p);
    const RequestId x1 = h.call("x");
    const RequestId y1 = h.call("y");
    EXPECT_TRUE(h.forwarded(x1));
    EXPECT_FALSE(h.forwarded(y1));
    h.at(1);
    h.done(x1, 1000, 0);  // x paused (TTL 0); y admitted
    EXPECT_TRUE(h.forwarded(y1));
    h.at(2);
    const RequestId x2 = h.call("x");  // waits; finished at 1
    h.at(3);
    const RequestId z1 = h.call("z");  // waits; never ran
    h.at(4);
    h.done(y1, 1000, 0);  // x (finished before) goes before z (never ran) -- FCFS too
    EXPECT_TRUE(h.forwarded(x2));
    EXPECT_FALSE(h.forwarded(z1));
    h.at(5);
    const RequestId y2 = h.call("y");  // waits; finished at 4, queued after z
    h.at(6);
    h.done(x2, 1000, 0);
    EXPECT_EQ(h.forwarded(y2), !fcfs) << (fcfs ? "fcfs" : "mru");
    EXPECT_EQ(h.forwarded(z1), fcfs) << (fcfs ? "fcfs" : "mru");
  }
}

TEST(ProgramPool, YieldsOnceAfterItsRoundsToABiggerWaiter) {
  auto p = with_capacity(100000);
  p.ttl_samples = 2;
  p.yield_rounds = 2;
  auto h = harness(p);
  // Two 1 s gaps fit the TTL (about 1 s for a 10,000-token context).
  for (Seconds t : {0.0, 2.0, 4.0}) {
    h.at(t);
    const RequestId id = h.call("a", 9000);
    h.at(t + 1);
    h.done(id, 9900, 100);
  }
  ASSERT_TRUE(policy(h).is_active("a"));     // Acting after its first round of this segment
  const RequestId big = h.call("b", 95000);  // 95,100 + a's 10,100 > 100,000
  EXPECT_FALSE(h.forwarded(big));
  h.at(5.5);
  const RequestId again = h.call("a", 9000);  // within the TTL
  EXPECT_TRUE(h.forwarded(again));
  h.at(6);
  h.done(again, 9900, 100);  // round 2: yields to b
  EXPECT_EQ(policy(h).pool_stats().paused_yield, 1);
  EXPECT_FALSE(policy(h).is_active("a"));
  EXPECT_TRUE(h.forwarded(big));
}

TEST(ProgramPool, ForceResumeDeadline) {
  auto h = harness(with_capacity(1100));
  // x completes calls at 1, 2 and 3 (paused and re-admitted each time): 1 completion per s.
  for (Seconds t : {0.0, 1.0, 2.0}) {
    h.at(t);
    const RequestId id = h.call("x");
    h.at(t + 1);
    h.done(id, 1000, 0);
  }
  EXPECT_DOUBLE_EQ(policy(h).completion_rate(0), 1.0);
  h.at(3);
  EXPECT_TRUE(h.forwarded(h.call("big")));  // takes the whole capacity
  for (int k = 0; k < 20; ++k) h.call(fmt::format("p{:02}", k));
  // clamp(3 x waiters ahead / 1 per s, 30, 300): pK has K ahead.
  EXPECT_DOUBLE_EQ(policy(h).force_deadline("p00"), 3 + 30);
  EXPECT_DOUBLE_EQ(policy(h).force_deadline("p10"), 3 + 30);
  EXPECT_DOUBLE_EQ(policy(h).force_deadline("p11"), 3 + 33);
  EXPECT_DOUBLE_EQ(policy(h).force_deadline("p19"), 3 + 57);
  // At their deadline p00..p10 are admitted whatever the room; p11 waits for 36.
  h.at(33);
  h.gw.on_timer();
  EXPECT_TRUE(policy(h).is_active("p00"));
  EXPECT_TRUE(policy(h).is_active("p10"));
  EXPECT_FALSE(policy(h).is_active("p11"));
  EXPECT_EQ(policy(h).pool_stats().forced_activations, 11);
}

TEST(ProgramPool, WithoutCompletionsTheDeadlineIsTheMaximum) {
  auto h = harness(with_capacity(1100));
  h.call("a");
  h.at(2);
  h.call("b");
  EXPECT_DOUBLE_EQ(policy(h).force_deadline("b"), 2 + 300);
  // A fresh reading with a request waiting holds even a forced program.
  h.at(302);
  h.metrics(0, 0.5, 1, 1);
  h.gw.on_timer();
  EXPECT_FALSE(policy(h).is_active("b"));
  h.at(302.5);
  h.metrics(0, 0.5, 1, 0);
  EXPECT_TRUE(policy(h).is_active("b"));
}

// Capacity repair: 10,000 tokens; a, b, c in calls (admitted at 0, 1, 2); d's one call
// returned 500 completion tokens. A reading at 3 shows 90% used with 3 running: 9,000 +
// 500 x 3 reasoning = 10,500 > 10,000. No program is Acting, so the one longest in its
// segment, a, is marked to pause when its call returns.
TEST(ProgramPool, CapacityRepairMarksReasoningProgramsLongestInSegmentFirst) {
  auto h = harness(with_capacity(10000));
  h.call("a");
  h.at(1);
  h.call("b");
  h.at(2);
  const RequestId c = h.call("c");
  h.at(2.5);
  h.done(h.call("d"), 1000, 500);
  h.at(3);
  h.metrics(0, 0.9, 3, 0);
  EXPECT_DOUBLE_EQ(policy(h).used_tokens(h.gw, 0), 9000);
  h.gw.on_timer();
  EXPECT_EQ(policy(h).pool_stats().repair_marked, 1);
  EXPECT_TRUE(h.state("a").pause_requested);
  EXPECT_FALSE(h.state("b").pause_requested);
  h.done(c, 1000, 500);
  h.done(1, 1000, 500);  // a's call
  EXPECT_FALSE(policy(h).is_active("a"));
  EXPECT_EQ(policy(h).pool_stats().paused_repair, 1);
}

TEST(ProgramPool, ForgetsProgramsPausedAndIdleFor1800s) {
  auto h = harness(with_capacity(1e6));
  h.done(h.call("a"), 1000, 10);  // paused at once (TTL 0)
  h.at(1799);
  h.gw.on_timer();
  EXPECT_TRUE(policy(h).is_known("a"));
  h.at(1800);
  h.gw.on_timer();
  EXPECT_FALSE(policy(h).is_known("a"));
  EXPECT_EQ(policy(h).pool_stats().dropped_idle, 1);
}

TEST(ProgramPool, HomeRankByConsistentHash) {
  auto h = harness(with_capacity(1e6), 3);
  for (const char* id : {"task-1", "task-2", "task-3", "task-4"}) {
    h.call(id);
    EXPECT_EQ(*h.state(id).backend, stable_hash64(id) % 3) << id;
  }
}

TEST(ProgramPool, ParametersAreNamedAndValidated) {
  EXPECT_TRUE(make_gateway_policy("programpool", {{"token_capacity", 98976}}));
  auto unknown = make_gateway_policy("programpool", {{"capacity", 1}});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("policy 'programpool' has no parameter 'capacity'"),
            std::string::npos);
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, double>>{{"token_capacity", -1},
                                                   {"waiting_threshold", 0},
                                                   {"max_active", 0.5},
                                                   {"ttl_samples", 1},
                                                   {"yield_rounds", 0},
                                                   {"force_max_s", 10},
                                                   {"resume_fcfs", 2},
                                                   {"prefill_tokens_per_s", 0}}) {
    auto bad = make_gateway_policy("programpool", {{name, value}});
    ASSERT_FALSE(bad) << name << "=" << value;
    EXPECT_NE(bad.error().message.find("programpool parameter '" + name + "'"), std::string::npos)
        << bad.error().message;
  }
  // Every field of ProgramPoolParams, each with a name.
  const auto described = describe_params<ProgramPoolParams>();
  EXPECT_EQ(described.size(), 18u);
  for (const auto& [name, value, meaning] : described) EXPECT_FALSE(name.empty());
}

}  // namespace
}  // namespace agentsched
