// The `cap` policy: at most `cap` programs active per backend, FIFO admission
// (docs/gateway.md).
#include <gtest/gtest.h>

#include "gateway/cap.h"
#include "gateway_harness.h"

namespace agentsched {
namespace {

using test::GatewayHarness;

GatewayHarness harness(double cap, std::size_t backends = 1) {
  CapParams p;
  p.cap = cap;
  return GatewayHarness(std::make_unique<CapPolicy>(p), backends);
}

CapPolicy& policy(GatewayHarness& h) {
  return static_cast<CapPolicy&>(h.gw.policy());
}

TEST(Cap, AtMostCapProgramsActive) {
  auto h = harness(2);
  const RequestId a = h.call("a");
  const RequestId b = h.call("b");
  const RequestId c = h.call("c");
  EXPECT_TRUE(h.forwarded(a));
  EXPECT_TRUE(h.forwarded(b));
  EXPECT_FALSE(h.forwarded(c));
  EXPECT_EQ(policy(h).active_on(0), 2);
  EXPECT_EQ(policy(h).waiting_programs(), 1u);
  // Finished calls do not free a place: a program is active until it is released.
  h.done(a, 1000, 10);
  h.done(b, 1000, 10);
  EXPECT_FALSE(h.forwarded(c));
  // Nor does load: the policy reads no metrics.
  h.metrics(0, 0.0);
  EXPECT_FALSE(h.forwarded(c));
}

TEST(Cap, CallsOfActiveProgramsAlwaysPass) {
  auto h = harness(1);
  h.done(h.call("a"), 1000, 10);
  EXPECT_FALSE(h.forwarded(h.call("b")));
  h.metrics(0, 0.99, 10, 50);  // however loaded the engine
  const RequestId next = h.call("a", 2000);
  EXPECT_TRUE(h.forwarded(next));
  EXPECT_TRUE(h.forwarded(h.call("a", 3000)));  // even with another call of it in flight
}

TEST(Cap, ReleaseAdmitsTheNextInArrivalOrder) {
  auto h = harness(1);
  h.call("a");
  h.at(1);
  const RequestId z = h.call("z");  // arrives first
  h.at(2);
  const RequestId m = h.call("m");  // then m; ids sort the other way round on purpose
  h.at(5);
  h.gw.release("a");
  EXPECT_TRUE(h.forwarded(z));
  EXPECT_FALSE(h.forwarded(m));
  EXPECT_DOUBLE_EQ(h.driver.forwards.back().at, 5);
  EXPECT_DOUBLE_EQ(h.state("z").total_held_s, 4);
  h.at(9);
  h.gw.release("z");
  EXPECT_TRUE(h.forwarded(m));
  EXPECT_EQ(policy(h).stats().admitted_at_once, 1);
  EXPECT_EQ(policy(h).stats().admitted_later, 2);
  EXPECT_EQ(policy(h).stats().most_waiting, 2);
}

TEST(Cap, NewcomersDoNotOvertakeTheQueue) {
  auto h = harness(1);
  h.call("a");
  const RequestId b = h.call("b");
  h.gw.release("a");  // b takes the place at once
  EXPECT_TRUE(h.forwarded(b));
  EXPECT_FALSE(h.forwarded(h.call("c")));
  // A second call of a held program (a client retry) waits with it and goes with it.
  const RequestId c2 = h.call("c");
  h.gw.release("b");
  EXPECT_TRUE(h.forwarded(c2));
  EXPECT_EQ(policy(h).active_on(0), 1);
}

TEST(Cap, AHeldProgramReleasedWhileWaitingLeavesTheQueue) {
  auto h = harness(1);
  h.call("a");
  h.call("b");
  const RequestId c = h.call("c");
  h.gw.release("b");  // gave up while waiting
  EXPECT_EQ(policy(h).waiting_programs(), 1u);
  EXPECT_EQ(policy(h).active_on(0), 1);
  h.gw.release("a");
  EXPECT_TRUE(h.forwarded(c));
  EXPECT_FALSE(policy(h).is_active("b"));
}

TEST(Cap, SeveralBackendsFillTheLeastActiveFirst) {
  auto h = harness(2, 2);
  for (const char* id : {"a", "b", "c", "d"}) h.call(id);
  ASSERT_EQ(h.driver.forwards.size(), 4u);
  // Fewest active programs, lowest index on ties: 0, 1, 0, 1.
  EXPECT_EQ(h.driver.forwards[0].backend, 0u);
  EXPECT_EQ(h.driver.forwards[1].backend, 1u);
  EXPECT_EQ(h.driver.forwards[2].backend, 0u);
  EXPECT_EQ(h.driver.forwards[3].backend, 1u);
  const RequestId e = h.call("e");  // both backends at the bound
  EXPECT_FALSE(h.forwarded(e));
  h.gw.release("b");  // a place frees on backend 1: e goes there
  ASSERT_TRUE(h.forwarded(e));
  EXPECT_EQ(h.driver.forwards.back().backend, 1u);
  EXPECT_EQ(policy(h).active_on(0), 2);
  EXPECT_EQ(policy(h).active_on(1), 2);
  // Sticky afterwards.
  h.gw.release("a");
  h.call("e");
  EXPECT_EQ(h.driver.forwards.back().backend, 1u);
}

TEST(Cap, AnonymousCallsAreProgramsOfTheirOwn) {
  auto h = harness(1);
  h.call("a");
  CallRequest anonymous;
  anonymous.id = 99;
  h.gw.submit(anonymous);
  EXPECT_FALSE(h.forwarded(99));
  h.gw.release("a");
  EXPECT_TRUE(h.forwarded(99));
}

TEST(Cap, ParametersAreValidated) {
  EXPECT_FALSE(make_gateway_policy("cap", {{"cap", 0}}).ok());
  EXPECT_FALSE(make_gateway_policy("cap", {{"cap", -3}}).ok());
  auto fractional = make_gateway_policy("cap", {{"cap", 1.5}});
  ASSERT_FALSE(fractional.ok());
  EXPECT_NE(fractional.error().message.find("'cap' = 1.5"), std::string::npos);
  auto unknown = make_gateway_policy("cap", {{"high_water", 0.9}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("has no parameter 'high_water'"), std::string::npos);
  EXPECT_TRUE(make_gateway_policy("cap", {{"cap", 1}}).ok());
  EXPECT_TRUE(make_gateway_policy("cap").ok());
  EXPECT_DOUBLE_EQ(CapParams{}.cap, 16);
}

}  // namespace
}  // namespace agentsched
