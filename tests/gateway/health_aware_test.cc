// Health-aware placement (gateway/health_aware.h) on the virtual clock: every expected
// backend below is worked out by hand from the rule in the header.
#include "gateway/health_aware.h"

#include <gtest/gtest.h>

#include <vector>

#include "gateway/gateway_harness.h"
#include "gateway/passthrough.h"

namespace agentsched {
namespace {

using test::GatewayHarness;

// Holds every call; a healthy poll of backend B resumes the programs placed on B (the shape
// of a policy whose rounds run on its backend's polls, as thunderreact's do).
class HoldUntilPoll final : public GatewayPolicy {
 public:
  std::string_view name() const override { return "hold-until-poll"; }
  void on_request(Gateway& gw, ProgramState& p, CallRequest call) override {
    gw.hold(p, std::move(call));
  }
  void on_metrics(Gateway& gw, BackendIndex b) override {
    if (!gw.backends()[b].metrics.healthy) return;
    std::vector<std::string> ids;
    for (const auto& [id, p] : gw.programs())
      if (p.backend == b && !p.held.empty()) ids.push_back(id);
    for (const auto& id : ids) gw.resume(*gw.find(id));
  }
};

// The harness owns the gateway; the wrapper reads this table of up/down flags.
struct Health {
  std::vector<bool> up;
  HealthAwarePlacement::IsUp fn() {
    return [this](BackendIndex b) { return static_cast<bool>(up[b]); };
  }
};

std::unique_ptr<HealthAwarePlacement> wrap(std::unique_ptr<GatewayPolicy> inner, Health& h) {
  return std::make_unique<HealthAwarePlacement>(std::move(inner), h.fn());
}

HealthAwarePlacement& placement(GatewayHarness& h) {
  return static_cast<HealthAwarePlacement&>(h.gw.policy());
}

void poll(GatewayHarness& h, BackendIndex b, bool healthy) {
  BackendMetrics m;
  m.healthy = healthy;
  h.gw.update_metrics(b, m);
}

TEST(HealthAware, DownBackendGetsNoNewPrograms) {
  Health health{{false, true, true}};
  GatewayHarness h(wrap(std::make_unique<PassthroughPolicy>(), health), 3);
  // a: passthrough picks 0 (all empty, lowest index), 0 is down -> fallback: 1 and 2 both
  // empty -> 1. b: passthrough picks 0 again (0 programs) -> fallback: 2 (1 has a program).
  // c: passthrough picks 0 -> fallback: 1 and 2 have one program each; 1 has a call in
  // flight (a's, not completed), 2 too (b's) -> tie -> 1.
  h.at(1.0);
  const RequestId a = h.call("a");
  const RequestId b = h.call("b");
  const RequestId c = h.call("c");
  ASSERT_EQ(h.driver.forwards.size(), 3u);
  EXPECT_EQ(h.driver.forwards[0].backend, 1u);
  EXPECT_EQ(h.driver.forwards[1].backend, 2u);
  EXPECT_EQ(h.driver.forwards[2].backend, 1u);
  EXPECT_EQ(h.driver.forwards[2].at, 1.0);
  EXPECT_EQ(h.gw.backends()[0].programs, 0);
  EXPECT_EQ(h.gw.backends()[1].programs, 2);
  EXPECT_EQ(h.gw.backends()[2].programs, 1);
  h.done(a, 100);
  h.done(b, 100);
  h.done(c, 100);
  // The fallback itself: fewest programs, then fewest in flight, the excluded one skipped.
  EXPECT_EQ(placement(h).healthy_fallback(h.gw, std::nullopt), 2u);
  EXPECT_EQ(placement(h).healthy_fallback(h.gw, BackendIndex{2}), 1u);
}

TEST(HealthAware, WithNoBackendUpThePolicysChoiceStands) {
  Health health{{false, false}};
  GatewayHarness h(wrap(std::make_unique<PassthroughPolicy>(), health), 2);
  h.call("a");
  h.call("b");
  ASSERT_EQ(h.driver.forwards.size(), 2u);
  EXPECT_EQ(h.driver.forwards[0].backend, 0u);  // all empty: lowest index
  EXPECT_EQ(h.driver.forwards[1].backend, 1u);  // 0 has a program
  EXPECT_EQ(placement(h).healthy_fallback(h.gw, std::nullopt), std::nullopt);
  EXPECT_FALSE(placement(h).move_before_call(h.gw, h.state("a")));
}

TEST(HealthAware, ProgramMovesBeforeItsNextCallNotWhileACallIsInFlight) {
  Health health{{true, true}};
  GatewayHarness h(wrap(std::make_unique<PassthroughPolicy>(), health), 2);
  const RequestId a1 = h.call("a");  // -> 0
  const RequestId b1 = h.call("b");  // -> 1
  EXPECT_EQ(*h.state("a").backend, 0u);
  EXPECT_EQ(*h.state("b").backend, 1u);
  health.up[0] = false;
  // a's call is still in flight on 0: it stays (0's in-flight count must come back first).
  EXPECT_FALSE(placement(h).move_before_call(h.gw, h.state("a")));
  EXPECT_EQ(*h.state("a").backend, 0u);
  h.done(a1, 100);
  h.done(b1, 100);
  // Between calls: a moves to the only up backend, before its call is submitted.
  EXPECT_TRUE(placement(h).move_before_call(h.gw, h.state("a")));
  EXPECT_EQ(*h.state("a").backend, 1u);
  EXPECT_EQ(h.gw.backends()[0].programs, 0);
  EXPECT_EQ(h.gw.backends()[1].programs, 2);
  h.call("a");
  EXPECT_EQ(h.driver.forwards.back().backend, 1u);
  // b is on an up backend: nothing to do.
  EXPECT_FALSE(placement(h).move_before_call(h.gw, h.state("b")));
}

TEST(HealthAware, HeldProgramsLeaveADownBackendOnItsPoll) {
  Health health{{true, true}};
  GatewayHarness h(wrap(std::make_unique<HoldUntilPoll>(), health), 2);
  h.at(0.0);
  h.call("a");                       // placed on 0, held
  h.call("b");                       // placed on 1, held
  const RequestId c1 = h.call("c");  // 0 and 1 have one program each, no calls in flight -> 0
  EXPECT_EQ(*h.state("a").backend, 0u);
  EXPECT_EQ(*h.state("c").backend, 0u);
  EXPECT_EQ(h.gw.held_calls(), 3);
  // c's call goes through on a healthy poll of 0; a too (both on 0).
  h.at(1.0);
  poll(h, 0, true);
  ASSERT_EQ(h.driver.forwards.size(), 2u);
  h.call("a");  // a's second call, held on 0 while its first is still in flight
  EXPECT_TRUE(h.state("a").in_flight);
  EXPECT_EQ(h.state("a").held.size(), 1u);
  h.done(c1, 100);
  h.call("c");  // held on 0, nothing in flight
  EXPECT_FALSE(h.state("c").in_flight);
  // Backend 0 goes down; its next poll fails. c (held, nothing in flight) moves to 1; a (a
  // call still in flight on 0) stays.
  health.up[0] = false;
  h.at(2.0);
  poll(h, 0, false);
  EXPECT_EQ(*h.state("c").backend, 1u);
  EXPECT_EQ(*h.state("a").backend, 0u);
  EXPECT_EQ(h.driver.forwards.size(), 2u);  // moving forwards nothing
  // 1's next poll resumes what is held there now: b and c.
  h.at(2.5);
  poll(h, 1, true);
  ASSERT_EQ(h.driver.forwards.size(), 4u);
  EXPECT_EQ(h.driver.forwards[2].program, "b");
  EXPECT_EQ(h.driver.forwards[3].program, "c");
  EXPECT_EQ(h.driver.forwards[3].backend, 1u);
  EXPECT_EQ(h.driver.forwards[3].at, 2.5);
}

TEST(HealthAware, ABackendThatComesBackIsChosenAgainAndMovedProgramsStay) {
  Health health{{false, true}};
  GatewayHarness h(wrap(std::make_unique<PassthroughPolicy>(), health), 2);
  h.done(h.call("a"), 100);  // 0 down -> 1
  h.done(h.call("b"), 100);  // 0 down -> 1
  EXPECT_EQ(h.gw.backends()[1].programs, 2);
  health.up[0] = true;
  // c: passthrough picks 0 (0 programs against 2), up -> 0.
  h.call("c");
  EXPECT_EQ(h.driver.forwards.back().backend, 0u);
  // a and b stay sticky on 1.
  h.call("a");
  EXPECT_EQ(h.driver.forwards.back().backend, 1u);
  EXPECT_FALSE(placement(h).move_before_call(h.gw, h.state("b")));
}

TEST(HealthAware, EverythingElseIsTheWrappedPolicys) {
  Health health{{true}};
  auto wrapped = wrap(std::make_unique<PassthroughPolicy>(), health);
  EXPECT_EQ(wrapped->name(), "passthrough");
  EXPECT_EQ(wrapped->inner().name(), "passthrough");
  GatewayHarness h(std::move(wrapped), 1);
  EXPECT_EQ(h.gw.next_timer(), std::nullopt);
}

}  // namespace
}  // namespace agentsched
