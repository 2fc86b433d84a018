#include <gtest/gtest.h>

#include "gateway/passthrough.h"
#include "gateway_harness.h"

namespace agentsched::test {
namespace {

TEST(Passthrough, ForwardsEveryCallAtOnce) {
  GatewayHarness h(std::make_unique<PassthroughPolicy>(), 1);
  h.at(3.0);
  const RequestId a = h.call("p");
  ASSERT_EQ(h.driver.forwards.size(), 1u);
  EXPECT_EQ(h.driver.forwards[0].id, a);
  EXPECT_EQ(h.driver.forwards[0].at, 3.0);
  // Metrics, even alarming ones, change nothing.
  h.metrics(0, 1.0, 10, 50);
  h.done(a, 900, 100);
  const RequestId b = h.call("p");
  EXPECT_TRUE(h.forwarded(b));
  EXPECT_EQ(h.gw.held_calls(), 0);
  EXPECT_EQ(h.state("p").steps, 1);
  EXPECT_EQ(h.state("p").context_tokens, 1000);
}

TEST(Passthrough, PlacesLeastLoadedThenSticky) {
  GatewayHarness h(std::make_unique<PassthroughPolicy>(), 2);
  h.call("a");                      // both empty: lowest index
  h.call("b");                      // b0 has one program
  const RequestId c = h.call("c");  // one program and one call each: lowest index
  EXPECT_EQ(h.driver.forwards[0].backend, 0u);
  EXPECT_EQ(h.driver.forwards[1].backend, 1u);
  EXPECT_EQ(h.driver.forwards[2].backend, 0u);
  h.done(c, 100);
  // "a" stays on b0 although b1 now has fewer programs.
  h.gw.release("b");
  h.call("a");
  EXPECT_EQ(h.driver.forwards.back().backend, 0u);
  EXPECT_EQ(h.gw.backends()[0].programs, 2);
  EXPECT_EQ(h.gw.backends()[1].programs, 0);
}

TEST(Passthrough, RegisteredWithoutParameters) {
  auto p = make_gateway_policy("passthrough");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->name(), "passthrough");
  auto bad = make_gateway_policy("passthrough", {{"budget", 1}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("budget"), std::string::npos);
}

}  // namespace
}  // namespace agentsched::test

namespace agentsched {
namespace {

TEST(Gateway, ReleaseWithACallInFlightReturnsTheBackendsInFlightCount) {
  test::GatewayHarness h(std::make_unique<PassthroughPolicy>(), 1);
  h.call("a", 100);
  ASSERT_EQ(h.gw.backends()[0].in_flight, 1);
  h.gw.release("a");
  EXPECT_EQ(h.gw.backends()[0].in_flight, 0);
  EXPECT_EQ(h.gw.backends()[0].programs, 0);
}

}  // namespace
}  // namespace agentsched
