// Each rule of the reference router (docs/reference-study.md section 6), pinned down on the
// virtual clock. Budget 100,000 and the default fraction 0.2 make the arithmetic readable:
// at usage u the pause amount is (u - 0.90) x 20,000 tokens.
#include "gateway/thunderreact.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "gateway/policy_params.h"
#include "gateway_harness.h"

namespace agentsched::test {
namespace {

std::unique_ptr<GatewayPolicy> thunderreact(PolicyParams params = {{"budget", 100000}}) {
  auto p = make_gateway_policy("thunderreact", params);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return std::move(*p);
}

// "p0", "p1", ... (appending, because GCC 12 warns falsely on "p" + std::to_string(i)).
std::string numbered(int i) {
  std::string id = "p";
  id += std::to_string(i);
  return id;
}

const ThunderReactPolicy& policy_of(GatewayHarness& h) {
  return dynamic_cast<const ThunderReactPolicy&>(h.gw.policy());
}

// --- registry and parameters ---

TEST(ThunderReactParams, RegisteredWithEveryParameterAndReferenceDefaults) {
  const auto infos = gateway_policy_infos();
  const auto it = std::find_if(infos.begin(), infos.end(),
                               [](const auto& i) { return i.name == "thunderreact"; });
  ASSERT_NE(it, infos.end());
  std::map<std::string, double> defaults;
  for (const auto& [name, value, meaning] : it->params) {
    EXPECT_FALSE(meaning.empty()) << name;
    defaults[name] = value;
  }
  const std::map<std::string, double> reference = {
      {"pause_threshold", 0.95},  {"pause_target", 0.90},  {"pause_cooldown_s", 2.5},
      {"resume_threshold", 0.85}, {"resume_target", 0.90}, {"resume_cooldown_s", 10},
      {"fraction", 0.2},          {"budget", 788976},      {"output_estimate", 500},
      {"waiting_weight", 4},      {"move_to_idle", 1},
  };
  EXPECT_EQ(defaults, reference);
}

TEST(ThunderReactParams, SettableByName) {
  auto p = make_gateway_policy("thunderreact", {{"budget", 98976}, {"pause_cooldown_s", 1}});
  ASSERT_TRUE(p.ok());
  const auto& tr = dynamic_cast<const ThunderReactPolicy&>(**p);
  EXPECT_EQ(tr.params().budget, 98976);
  EXPECT_EQ(tr.params().pause_cooldown_s, 1);
  EXPECT_EQ(tr.params().resume_cooldown_s, 10);
}

TEST(ThunderReactParams, RejectsUnknownNames) {
  auto p = make_gateway_policy("thunderreact", {{"bugdet", 1000}});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("'bugdet'"), std::string::npos) << p.error().message;
  EXPECT_NE(p.error().message.find("budget"), std::string::npos) << p.error().message;
  // The parser on its own rejects them too (not only the registry).
  EXPECT_FALSE(apply_params<ThunderReactParams>({{"bugdet", 1000}}).ok());
}

TEST(ThunderReactParams, RejectsValuesOutOfRange) {
  for (const PolicyParams& bad : std::vector<PolicyParams>{
           {{"pause_threshold", 1.5}},
           {{"resume_target", -0.1}},
           {{"resume_threshold", 0.97}},  // above pause_threshold 0.95
           {{"fraction", 0}},
           {{"budget", -1}},
           {{"pause_cooldown_s", -2}},
           {{"output_estimate", -1}},
           {{"waiting_weight", -4}},
           {{"move_to_idle", 2}},
           {{"budget", std::numeric_limits<double>::quiet_NaN()}},
       }) {
    auto p = make_gateway_policy("thunderreact", bad);
    EXPECT_FALSE(p.ok()) << bad.begin()->first << "=" << bad.begin()->second;
  }
  EXPECT_TRUE(make_gateway_policy("thunderreact", {{"budget", 0}}).ok());  // 0: auto
}

// --- estimates ---

TEST(ThunderReact, EstimatedTokensAreContextPlusOutputEstimate) {
  GatewayHarness h(thunderreact(), 1);
  const RequestId a = h.call("p", 3000);
  // No response yet: the pending call's prompt estimate stands in for the context.
  EXPECT_EQ(policy_of(h).estimated_tokens(h.state("p")), 3500);
  h.done(a, 3000, 200);
  EXPECT_EQ(policy_of(h).estimated_tokens(h.state("p")), 3700);
  // A new call does not change it: the reference knows only the last response.
  h.call("p", 9000);
  EXPECT_EQ(policy_of(h).estimated_tokens(h.state("p")), 3700);
}

// --- pausing ---

TEST(ThunderReact, NoPauseBelowThreshold) {
  GatewayHarness h(thunderreact(), 1);
  h.program("p", 1, 1000);
  h.metrics(0, 0.9499);
  EXPECT_FALSE(h.state("p").paused);
  h.metrics(0, 0.95);
  EXPECT_TRUE(h.state("p").paused);
}

TEST(ThunderReact, PausesFewestStepsFirstLargestFirstUntilAmount) {
  GatewayHarness h(thunderreact(), 1);
  h.program("a", 3, 1000);  // est 1500
  h.program("b", 1, 300);   // est 800
  h.program("c", 1, 700);   // est 1200
  h.program("d", 2, 100);   // est 600
  // Order (steps desc, est asc): a, d, b, c; from the end: c, then b.
  // usage 1.0: amount 0.10 x 100,000 x 0.2 = 2,000 -> c (1,200), b (800) reaches it exactly.
  h.metrics(0, 1.0);
  EXPECT_TRUE(h.state("c").paused);
  EXPECT_TRUE(h.state("b").paused);
  EXPECT_FALSE(h.state("d").paused);
  EXPECT_FALSE(h.state("a").paused);
  EXPECT_EQ(policy_of(h).stats().paused, 2);
}

TEST(ThunderReact, PauseOvershootsByTheLastProgramTaken) {
  GatewayHarness h(thunderreact(), 1);
  h.program("a", 3, 1000);
  h.program("b", 1, 300);
  h.program("c", 1, 700);
  h.program("d", 2, 100);
  // amount 0.105 x 20,000 = 2,100: c, b (2,000) leave 100, so d (600) goes too.
  h.metrics(0, 1.005);
  EXPECT_TRUE(h.state("c").paused);
  EXPECT_TRUE(h.state("b").paused);
  EXPECT_TRUE(h.state("d").paused);
  EXPECT_FALSE(h.state("a").paused);
}

TEST(ThunderReact, FullTiesBreakByProgramIdLargestFirst) {
  GatewayHarness h(thunderreact(), 1);
  h.program("x1", 2, 500);
  h.program("x2", 2, 500);
  h.program("x3", 2, 500);
  h.metrics(0, 0.95);  // amount 1,000: one program of est 1,000
  EXPECT_FALSE(h.state("x1").paused);
  EXPECT_FALSE(h.state("x2").paused);
  EXPECT_TRUE(h.state("x3").paused);
}

TEST(ThunderReact, PausedProgramsCallIsHeldWithoutTimeout) {
  GatewayHarness h(thunderreact(), 1);
  h.program("p", 1, 1000);
  h.metrics(0, 0.99);
  ASSERT_TRUE(h.state("p").paused);
  const RequestId c = h.call("p");
  EXPECT_FALSE(h.forwarded(c));
  EXPECT_EQ(h.gw.held_calls(), 1);
  h.at(3600);          // an hour later, still held: there is no timeout
  h.metrics(0, 0.90);  // between the thresholds: neither pause nor resume
  EXPECT_FALSE(h.forwarded(c));
  EXPECT_EQ(h.gw.held_calls(), 1);
}

TEST(ThunderReact, InFlightProgramIsMarkedAndPausesWhenItsCallReturns) {
  GatewayHarness h(thunderreact(), 1);
  h.program("p", 1, 1000);
  const RequestId first = h.call("p");
  h.metrics(0, 1.0);
  EXPECT_TRUE(h.state("p").pause_requested);
  EXPECT_FALSE(h.state("p").paused);
  EXPECT_EQ(policy_of(h).stats().pause_marked, 1);
  h.at(4);
  h.done(first, 1200, 100);
  EXPECT_TRUE(h.state("p").paused);
  EXPECT_FALSE(h.state("p").pause_requested);
  EXPECT_EQ(h.state("p").paused_since, 4);
  const RequestId next = h.call("p");
  EXPECT_FALSE(h.forwarded(next));
  EXPECT_EQ(h.gw.held_calls(), 1);
}

TEST(ThunderReact, MarkedProgramStaysACandidateAndCountsAgain) {
  // The reference's candidates are "programs not paused": a marked program whose call has
  // not returned is one, so the next round takes it (and its tokens) again rather than
  // pausing someone else for KV that is about to be freed.
  GatewayHarness h(thunderreact(), 1);
  h.program("big", 5, 5000);
  h.program("p", 1, 1000);
  const RequestId c = h.call("p");
  h.metrics(0, 0.95);  // amount 1,000: p (est 1,500) is marked
  ASSERT_TRUE(h.state("p").pause_requested);
  h.at(2.5);
  h.metrics(0, 0.95);
  EXPECT_FALSE(h.state("big").paused);
  EXPECT_EQ(policy_of(h).stats().pause_marked, 1);
  EXPECT_EQ(policy_of(h).stats().pause_rounds, 2);
  h.done(c, 1000);
  EXPECT_TRUE(h.state("p").paused);
}

TEST(ThunderReact, PauseCooldownIsTwoAndAHalfSecondsOnThePollGrid) {
  GatewayHarness h(thunderreact(), 1);
  for (int i = 0; i < 8; ++i) h.program(numbered(i), 1, 500);  // est 1,000 each
  // Polls every 0.5 s, delivered 5 ms late, as in the simulator; amount 1,000 = one program.
  auto paused = [&] {
    int n = 0;
    for (const auto& [id, p] : h.gw.programs()) n += p.paused;
    return n;
  };
  std::vector<int> counts;
  for (int k = 0; k <= 10; ++k) {
    h.at(0.005 + 0.5 * k);
    h.metrics(0, 0.95);
    counts.push_back(paused());
  }
  // Pauses at 0.005, 2.505 and 5.005 -- not one poll later because of rounding.
  EXPECT_EQ(counts, (std::vector<int>{1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3}));
}

TEST(ThunderReact, IsLastStepPassesWhilePaused) {
  GatewayHarness h(thunderreact(), 1);
  h.program("p", 3, 1000);
  h.metrics(0, 1.0);
  ASSERT_TRUE(h.state("p").paused);
  const RequestId last = h.call("p", 1000, /*is_last_step=*/true);
  EXPECT_TRUE(h.forwarded(last));
  EXPECT_EQ(h.gw.held_calls(), 0);
  EXPECT_EQ(policy_of(h).stats().last_step_passed, 1);
  EXPECT_TRUE(h.state("p").paused);  // letting the last call through is not a resume
}

TEST(ThunderReact, UnhealthyMetricsAreIgnored) {
  GatewayHarness h(thunderreact(), 1);
  h.program("p", 1, 1000);
  BackendMetrics m;
  m.kv_usage = 1.0;
  m.healthy = false;
  h.gw.update_metrics(0, m);
  EXPECT_FALSE(h.state("p").paused);
}

TEST(ThunderReact, AutoBudgetTakesTheBackendsKvCapacity) {
  GatewayHarness h(thunderreact({{"budget", 0}}), 1);
  for (int i = 0; i < 4; ++i) h.program(numbered(i), 1, 500);  // est 1,000 each
  BackendMetrics m;
  m.kv_usage = 1.0;
  m.num_gpu_blocks = 6250;  // 100,000 tokens: amount 2,000, two programs
  m.block_size = 16;
  h.gw.update_metrics(0, m);
  EXPECT_EQ(policy_of(h).stats().paused, 2);
}

// --- resuming ---

TEST(ThunderReact, ResumesMostStepsFirstUntilAmountAndForwardsHeldCalls) {
  GatewayHarness h(thunderreact(), 1);
  h.program("p1", 5, 1000);  // est 1,500
  h.program("p2", 3, 500);   // est 1,000
  h.program("p3", 1, 100);   // est 600
  h.metrics(0, 1.0);         // amount 2,000 pauses p3, p2, p1 (600 + 1,000 + 1,500)
  ASSERT_TRUE(h.state("p1").paused && h.state("p2").paused && h.state("p3").paused);
  const RequestId c1 = h.call("p1"), c2 = h.call("p2"), c3 = h.call("p3");
  EXPECT_EQ(h.gw.held_calls(), 3);
  h.at(7);
  // usage 0.8: amount 0.10 x 20,000 = 2,000: p1 (1,500) then p2 (1,000); p3 waits.
  h.metrics(0, 0.8);
  EXPECT_FALSE(h.state("p1").paused);
  EXPECT_FALSE(h.state("p2").paused);
  EXPECT_TRUE(h.state("p3").paused);
  ASSERT_EQ(h.driver.forwards.size(), 5u + 3u + 1u + 2u);  // setup calls, then c1, c2
  EXPECT_EQ(h.driver.forwards[h.driver.forwards.size() - 2].id, c1);
  EXPECT_EQ(h.driver.forwards.back().id, c2);
  EXPECT_EQ(h.driver.forwards.back().at, 7);
  EXPECT_FALSE(h.forwarded(c3));
  EXPECT_EQ(h.gw.held_calls(), 1);
  EXPECT_EQ(h.state("p1").total_held_s, 7);
}

TEST(ThunderReact, NoResumeAtOrAboveResumeThreshold) {
  GatewayHarness h(thunderreact(), 1);
  h.program("p", 1, 1000);
  h.metrics(0, 1.0);
  h.at(20);
  h.metrics(0, 0.85);
  EXPECT_TRUE(h.state("p").paused);
  h.metrics(0, 0.8499);
  EXPECT_FALSE(h.state("p").paused);
}

TEST(ThunderReact, ResumeCooldownIsTenSeconds) {
  GatewayHarness h(thunderreact(), 1);
  for (int i = 0; i < 3; ++i) h.program(numbered(i), 1, 600);  // est 1,100 each
  h.metrics(0, 1.0);                                           // amount 2,000: p2, p1 paused
  h.at(5);
  h.metrics(0, 0.95);  // 2.5 s cooldown passed, amount 1,000: p0 paused
  ASSERT_EQ(policy_of(h).stats().paused, 3);
  auto paused = [&] {
    int n = 0;
    for (const auto& [id, p] : h.gw.programs()) n += p.paused;
    return n;
  };
  // usage 0.849: amount 1,020 -> one program per round.
  h.at(6.005);
  h.metrics(0, 0.849);
  EXPECT_EQ(paused(), 2);
  h.at(15.505);
  h.metrics(0, 0.849);
  EXPECT_EQ(paused(), 2);
  h.at(16.005);
  h.metrics(0, 0.849);
  EXPECT_EQ(paused(), 1);
}

// --- placement ---

TEST(ThunderReact, PlacesNewProgramsByRunningPlusFourWaiting) {
  GatewayHarness h(thunderreact(), 3);
  h.metrics(0, 0.5, 2, 1);  // load 6
  h.metrics(1, 0.5, 5, 0);  // load 5
  h.metrics(2, 0.5, 0, 2);  // load 8
  h.call("p");
  EXPECT_EQ(h.driver.forwards.back().backend, 1u);
}

TEST(ThunderReact, PrefersBackendsWithoutPausedPrograms) {
  GatewayHarness h(thunderreact({{"budget", 100000}, {"move_to_idle", 0}}), 3);
  h.metrics(0, 0.5, 2, 1);    // load 6
  h.metrics(1, 0.5, 5, 0);    // load 5
  h.metrics(2, 0.5, 0, 2);    // load 8
  h.program("old", 1, 1000);  // placed on b1
  ASSERT_EQ(*h.state("old").backend, 1u);
  h.metrics(1, 1.0, 5, 0);
  ASSERT_TRUE(h.state("old").paused);
  h.call("new");
  EXPECT_EQ(*h.state("new").backend, 0u);
}

TEST(ThunderReact, TiesBetweenPollsSpreadByProgramsPlaced) {
  GatewayHarness h(thunderreact(), 2);
  h.call("a");
  h.call("b");
  EXPECT_EQ(*h.state("a").backend, 0u);
  EXPECT_EQ(*h.state("b").backend, 1u);
}

TEST(ThunderReact, PlacementIsSticky) {
  GatewayHarness h(thunderreact(), 2);
  h.metrics(0, 0.1, 0, 0);
  h.metrics(1, 0.1, 3, 0);
  const RequestId a = h.call("p");
  ASSERT_EQ(h.driver.forwards.back().backend, 0u);
  h.done(a, 1000);
  h.metrics(0, 0.5, 9, 9);  // b0 is now far busier
  h.call("p");
  EXPECT_EQ(h.driver.forwards.back().backend, 0u);
}

// --- several backends ---

TEST(ThunderReact, MovesSmallIdleProgramsToAnIdleBackendBeforePausing) {
  GatewayHarness h(thunderreact(), 2);
  h.metrics(1, 0.5, 9, 9);  // keep new programs off b1
  h.program("s1", 2, 100);  // est 600
  h.program("s2", 2, 400);  // est 900
  h.program("l", 2, 4500);  // est 5,000
  h.program("f", 1, 50);    // in flight below
  const RequestId fc = h.call("f");
  for (const char* id : {"s1", "s2", "l", "f"}) ASSERT_EQ(*h.state(id).backend, 0u);
  h.metrics(1, 0.3, 0, 0);  // b1 idle
  // b0 at 0.97: amount 1,400: s1 (600) then s2 (900) move; nothing left to pause.
  h.metrics(0, 0.97);
  EXPECT_EQ(*h.state("s1").backend, 1u);
  EXPECT_EQ(*h.state("s2").backend, 1u);
  EXPECT_EQ(*h.state("l").backend, 0u);
  EXPECT_EQ(*h.state("f").backend, 0u);  // in flight: never moved
  for (const char* id : {"s1", "s2", "l", "f"}) {
    EXPECT_FALSE(h.state(id).paused) << id;
    EXPECT_FALSE(h.state(id).pause_requested) << id;
  }
  EXPECT_EQ(policy_of(h).stats().moved, 2);
  EXPECT_EQ(h.gw.backends()[1].programs, 2);
  // The moved program's next call goes to its new backend.
  h.call("s1");
  EXPECT_EQ(h.driver.forwards.back().backend, 1u);
  h.done(fc, 100);
}

TEST(ThunderReact, PausesWhatMovingDidNotCover) {
  GatewayHarness h(thunderreact(), 2);
  h.metrics(1, 0.5, 9, 9);
  h.program("s", 1, 100);  // est 600
  h.program("f", 1, 50);
  h.call("f");  // in flight: cannot move, can be marked
  h.metrics(1, 0.3, 0, 0);
  h.metrics(0, 1.0);  // amount 2,000: s moves (600), f is marked for the rest
  EXPECT_EQ(*h.state("s").backend, 1u);
  EXPECT_TRUE(h.state("f").pause_requested);
}

TEST(ThunderReact, NoMoveToABackendAtTheResumeThreshold) {
  GatewayHarness h(thunderreact(), 2);
  h.metrics(1, 0.5, 9, 9);
  h.program("s", 1, 100);
  h.metrics(1, 0.85, 0, 0);  // not below the resume threshold: not idle
  h.metrics(0, 0.95);
  EXPECT_EQ(*h.state("s").backend, 0u);
  EXPECT_TRUE(h.state("s").paused);
  EXPECT_EQ(policy_of(h).stats().moved, 0);
}

TEST(ThunderReact, NoMoveToABackendHoldingPausedPrograms) {
  GatewayHarness h(thunderreact(), 2);
  h.metrics(1, 0.5, 9, 9);
  h.program("s", 1, 100);  // on b0
  h.metrics(0, 0.90, 50, 50);
  h.metrics(1, 0.5, 0, 0);
  h.program("o1", 1, 600);  // on b1, est 1,100
  h.program("o2", 1, 500);  // on b1, est 1,000
  ASSERT_EQ(*h.state("o1").backend, 1u);
  ASSERT_EQ(*h.state("o2").backend, 1u);
  h.metrics(1, 0.96);  // amount 1,200: o1 then o2 paused (b0 at 0.90 is no place to move)
  ASSERT_TRUE(h.state("o1").paused && h.state("o2").paused);
  h.metrics(1, 0.849);  // amount 1,020: o1 resumed, o2 still paused
  ASSERT_FALSE(h.state("o1").paused);
  ASSERT_TRUE(h.state("o2").paused);
  // b1 is below the resume threshold but holds a paused program: not idle.
  h.metrics(0, 0.95);
  EXPECT_EQ(*h.state("s").backend, 0u);
  EXPECT_TRUE(h.state("s").paused);
  EXPECT_EQ(policy_of(h).stats().moved, 0);
}

TEST(ThunderReact, MoveToIdleCanBeTurnedOff) {
  GatewayHarness h(thunderreact({{"budget", 100000}, {"move_to_idle", 0}}), 2);
  h.metrics(1, 0.5, 9, 9);
  h.program("s", 1, 100);
  h.metrics(1, 0.1, 0, 0);
  h.metrics(0, 0.95);
  EXPECT_EQ(*h.state("s").backend, 0u);
  EXPECT_TRUE(h.state("s").paused);
}

TEST(ThunderReact, BackendsKeepTheirOwnCooldowns) {
  GatewayHarness h(thunderreact({{"budget", 100000}, {"move_to_idle", 0}}), 2);
  h.program("a", 1, 500);
  h.program("b", 1, 500);
  ASSERT_EQ(*h.state("a").backend, 0u);
  ASSERT_EQ(*h.state("b").backend, 1u);
  h.metrics(0, 0.95);
  h.at(1);
  h.metrics(1, 0.95);  // b0 paused 1 s ago; b1 has its own clock
  EXPECT_TRUE(h.state("a").paused);
  EXPECT_TRUE(h.state("b").paused);
}

// --- release ---

TEST(ThunderReact, ReleaseOfAPausedProgramDropsItsHeldCallsAndItsPauseState) {
  GatewayHarness h(thunderreact(), 1);
  h.program("p", 2, 1000);
  h.program("q", 2, 1000);
  h.metrics(0, 0.95);  // amount 1,000: q (larger id on the tie) paused
  ASSERT_TRUE(h.state("q").paused);
  const RequestId held = h.call("q", 2000);
  ASSERT_EQ(h.gw.held_calls(), 1);
  h.gw.release("q");
  EXPECT_EQ(h.gw.find("q"), nullptr);
  EXPECT_EQ(h.gw.held_calls(), 0);
  EXPECT_FALSE(h.forwarded(held));
  // A resume round after the release has nothing of q to resume.
  h.at(20);
  h.metrics(0, 0.1);
  EXPECT_FALSE(h.forwarded(held));
  EXPECT_EQ(policy_of(h).stats().resumed, 0);
  // A new program under the same job_id starts fresh: unpaused, no stale estimate.
  const RequestId again = h.call("q", 4000);
  EXPECT_TRUE(h.forwarded(again));
  EXPECT_EQ(policy_of(h).estimated_tokens(h.state("q")), 4500);
  EXPECT_EQ(h.gw.backends()[0].programs, 2);
}

TEST(ThunderReact, ReleaseOfAMarkedProgramInFlight) {
  GatewayHarness h(thunderreact(), 1);
  h.program("p", 1, 1000);
  const RequestId c = h.call("p");
  h.metrics(0, 1.0);
  ASSERT_TRUE(h.state("p").pause_requested);
  h.gw.release("p");
  h.done(c, 1000);  // the late answer of a released program is ignored
  EXPECT_EQ(h.gw.find("p"), nullptr);
  EXPECT_EQ(policy_of(h).stats().paused_on_return, 0);
}

}  // namespace
}  // namespace agentsched::test
