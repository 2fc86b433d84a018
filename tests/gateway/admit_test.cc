// The `admit` policy: FIFO admission control, with an optional bound on waiting
// (docs/gateway.md).
#include <gtest/gtest.h>

#include "gateway/admit.h"
#include "gateway_harness.h"

namespace agentsched {
namespace {

using test::GatewayHarness;

// A backend of 10,000 tokens (625 blocks of 16) at `usage`, with `waiting` queued requests
// and a host tier of `host_blocks`.
void poll(GatewayHarness& h, BackendIndex b, double usage, std::int64_t waiting = 0,
          std::int64_t host_blocks = 0) {
  BackendMetrics m;
  m.kv_usage = usage;
  m.num_waiting = waiting;
  m.num_gpu_blocks = 625;
  m.block_size = 16;
  m.num_host_blocks = host_blocks;
  h.gw.update_metrics(b, m);
}

GatewayHarness harness(AdmitParams params = {}, std::size_t backends = 1) {
  return GatewayHarness(std::make_unique<AdmitPolicy>(params), backends);
}

AdmitPolicy& policy(GatewayHarness& h) {
  return static_cast<AdmitPolicy&>(h.gw.policy());
}

TEST(Admit, AdmitsAtOnceWhileTheBackendHasRoom) {
  auto h = harness();
  poll(h, 0, 0.10);
  // Headroom = 10,000 x (0.90 - 0.10) = 8,000 tokens; a program needs prompt + 500.
  const RequestId a = h.call("a", 3000);  // 3,500: admitted, 4,500 left until the next poll
  const RequestId b = h.call("b", 3000);  // 3,500: admitted, 1,000 left
  const RequestId c = h.call("c", 3000);  // 3,500 > 1,000: held
  EXPECT_TRUE(h.forwarded(a));
  EXPECT_TRUE(h.forwarded(b));
  EXPECT_FALSE(h.forwarded(c));
  EXPECT_EQ(policy(h).waiting_programs(), 1u);
  // The next poll shows a and b running (usage 0.60): 3,000 tokens of room, still too little.
  poll(h, 0, 0.60);
  EXPECT_FALSE(h.forwarded(c));
  // 4,000 tokens of room now, but a and b will need 7,000 tokens whenever they are in calls
  // (duty cycle 1 until a minute of program life is seen): 7,000 + 3,500 > 9,000.
  poll(h, 0, 0.50);
  EXPECT_FALSE(h.forwarded(c));
  h.gw.release("a");
  poll(h, 0, 0.50);  // 3,500 + 3,500 <= 9,000
  EXPECT_TRUE(h.forwarded(c));
  EXPECT_EQ(policy(h).stats().admitted_at_once, 2);
  EXPECT_EQ(policy(h).stats().admitted_on_room, 1);
}

TEST(Admit, ProgramsBetweenCallsNeedLessResidentKv) {
  auto h = harness();
  poll(h, 0, 0.10);
  // Two programs of 4,000 tokens (3,500 + 500), each in a call 30 s of every 120 s.
  const RequestId a = h.call("a", 3500);
  const RequestId b = h.call("b", 3500);
  h.at(30);
  h.done(a, 3400, 100);  // footprint = 3,500 + observed output 100 = 3,600
  h.done(b, 3400, 100);
  h.at(120);
  poll(h, 0, 0.10);
  // Duty cycle 60 / 240 = 0.25: demand (3,600 + 3,600) x 0.25 = 1,800; a newcomer of
  // 5,100 tokens adds 1,275: 3,075 <= 9,000, while at duty 1 it would not fit (12,300).
  EXPECT_TRUE(h.forwarded(h.call("c", 5000)));
}

TEST(Admit, NeverHoldsAnAdmittedProgram) {
  auto h = harness();
  poll(h, 0, 0.10);
  h.done(h.call("a", 1000), 1000, 100);
  poll(h, 0, 0.99, /*waiting=*/5);  // full: no room for anyone new
  const RequestId next = h.call("a", 1200);
  EXPECT_TRUE(h.forwarded(next));
  EXPECT_FALSE(h.forwarded(h.call("b", 100)));
}

TEST(Admit, AnEngineQueueMeansNoRoom) {
  auto h = harness();
  poll(h, 0, 0.10, /*waiting=*/1);
  EXPECT_FALSE(h.forwarded(h.call("a", 100)));
  AdmitParams tolerant;
  tolerant.max_engine_waiting = 2;
  auto h2 = harness(tolerant);
  poll(h2, 0, 0.10, /*waiting=*/1);
  EXPECT_TRUE(h2.forwarded(h2.call("a", 100)));
}

TEST(Admit, AdmitsInArrivalOrder) {
  auto h = harness();
  poll(h, 0, 0.85);  // 500 tokens of room
  const RequestId big = h.call("big", 5000);
  const RequestId small = h.call("small", 10);  // would fit, but waits behind "big"
  EXPECT_FALSE(h.forwarded(big));
  EXPECT_FALSE(h.forwarded(small));
  poll(h, 0, 0.20);  // 7,000 tokens: both, in order
  ASSERT_EQ(h.driver.forwards.size(), 2u);
  EXPECT_EQ(h.driver.forwards[0].program, "big");
  EXPECT_EQ(h.driver.forwards[1].program, "small");
}

TEST(Admit, NoBoundByDefault) {
  EXPECT_DOUBLE_EQ(AdmitParams{}.max_wait_s, 0);
  auto h = harness();
  poll(h, 0, 0.99, 3);
  const RequestId a = h.call("a", 100);
  EXPECT_FALSE(h.gw.next_timer().has_value());
  h.at(5000);
  h.gw.on_timer();
  poll(h, 0, 0.99, 3);
  EXPECT_FALSE(h.forwarded(a));  // still no room: still held, however long
  poll(h, 0, 0.10, 0);
  EXPECT_TRUE(h.forwarded(a));  // room: admitted
  EXPECT_EQ(policy(h).stats().admitted_on_bound, 0);
}

TEST(Admit, NoProgramWaitsLongerThanTheBound) {
  AdmitParams p;
  p.max_wait_s = 300;
  auto h = harness(p);
  poll(h, 0, 0.99, 3);
  const RequestId a = h.call("a", 100);
  h.at(100);
  const RequestId b = h.call("b", 100);
  ASSERT_TRUE(h.gw.next_timer().has_value());
  EXPECT_DOUBLE_EQ(*h.gw.next_timer(), 300);  // a's bound
  h.at(300);
  h.gw.on_timer();
  EXPECT_TRUE(h.forwarded(a));
  EXPECT_FALSE(h.forwarded(b));
  EXPECT_DOUBLE_EQ(*h.gw.next_timer(), 400);
  h.at(400);
  h.gw.on_timer();
  EXPECT_TRUE(h.forwarded(b));
  EXPECT_EQ(policy(h).stats().admitted_on_bound, 2);
  EXPECT_DOUBLE_EQ(policy(h).stats().longest_wait_s, 300);
  EXPECT_FALSE(h.gw.next_timer().has_value());
  // The held time is the program's.
  EXPECT_DOUBLE_EQ(h.state("b").total_held_s, 300);
}

TEST(Admit, BoundIsAParameter) {
  AdmitParams p;
  p.max_wait_s = 20;
  auto h = harness(p);
  poll(h, 0, 0.99, 3);
  const RequestId a = h.call("a", 100);
  h.at(20);
  h.gw.on_timer();
  EXPECT_TRUE(h.forwarded(a));
}

TEST(Admit, LearnsOutputSizeFromCompletions) {
  AdmitParams p;
  p.initial_output_estimate = 0;
  auto h = harness(p);
  poll(h, 0, 0.10);
  h.done(h.call("a", 1000), 1000, 3000);  // one completion of 3,000 tokens observed
  poll(h, 0, 0.50);                       // 4,000 tokens of room
  // "b" needs 1,500 + 3,000 (the observed mean) = 4,500 > 4,000: held.
  EXPECT_FALSE(h.forwarded(h.call("b", 1500)));
}

TEST(Admit, UnknownCapacityHoldsNothing) {
  auto h = harness();
  // No poll yet: nothing is known to be full, so the gateway stays work-conserving.
  EXPECT_TRUE(h.forwarded(h.call("a", 1000000)));
}

TEST(Admit, PlacesNewProgramsOnTheBackendWithMostRoomAndKeepsThem) {
  auto h = harness({}, 2);
  poll(h, 0, 0.70);
  poll(h, 1, 0.20);
  const RequestId a = h.call("a", 100);
  EXPECT_EQ(h.driver.forwards.back().backend, 1u);
  h.done(a, 100, 10);
  poll(h, 0, 0.10);
  poll(h, 1, 0.80);
  h.call("a", 200);  // sticky, although backend 0 now has more room
  EXPECT_EQ(h.driver.forwards.back().backend, 1u);
}

TEST(Admit, ReleaseForgetsTheProgram) {
  auto h = harness();
  poll(h, 0, 0.99, 2);
  h.call("a", 100);
  EXPECT_EQ(policy(h).waiting_programs(), 1u);
  h.gw.release("a");
  EXPECT_EQ(policy(h).waiting_programs(), 0u);
  EXPECT_FALSE(h.gw.next_timer().has_value());
  EXPECT_FALSE(policy(h).is_admitted("a"));
}

AdmitParams holding(double mode) {
  AdmitParams p;
  p.hold_admitted = mode;
  return p;
}

TEST(Admit, HoldingAdmittedProgramsIsOffByDefault) {
  EXPECT_DOUBLE_EQ(AdmitParams{}.hold_admitted, 0);
  auto h = harness();
  poll(h, 0, 0.10);
  const RequestId a = h.call("a", 1000);
  h.call("b", 1000);  // stays in its call
  h.done(a, 1000, 100);
  poll(h, 0, 0.99, /*waiting=*/5);
  EXPECT_TRUE(h.forwarded(h.call("a", 1200)));
  EXPECT_EQ(policy(h).stats().calls_held, 0);
}

TEST(Admit, HoldsALaterCallWhileTheEngineQueues) {
  auto h = harness(holding(1));
  poll(h, 0, 0.10);
  const RequestId a = h.call("a", 1000);  // 1,500 tokens: admitted
  h.call("b", 1000);                      // admitted, stays in its call
  h.done(a, 1000, 100);
  poll(h, 0, 0.50, /*waiting=*/2);
  const RequestId next = h.call("a", 1100);
  EXPECT_FALSE(h.forwarded(next));  // the engine queues and b is in a call
  EXPECT_EQ(policy(h).stats().calls_held, 1);
  EXPECT_TRUE(h.forwarded(h.call("a", 1100, /*is_last_step=*/true)));  // final: never held
  poll(h, 0, 0.50);                                                    // no queue: resumed
  EXPECT_TRUE(h.forwarded(next));
}

TEST(Admit, ResumesTheOldestAdmittedFirstAndStartsNobodyNewMeanwhile) {
  auto h = harness(holding(1));
  poll(h, 0, 0.10);
  const RequestId a = h.call("a", 1000);  // admitted first (1,500 tokens)
  const RequestId b = h.call("b", 1000);  // second
  h.call("c", 1000);                      // third, stays in its call
  h.done(a, 1000, 100);
  h.done(b, 1000, 100);
  poll(h, 0, 0.50, /*waiting=*/1);
  const RequestId b2 = h.call("b", 1100);  // held: the engine queues
  const RequestId a2 = h.call("a", 1100);  // held behind b, but a is older
  const RequestId d = h.call("d", 1000);   // new: waits while admitted programs wait
  EXPECT_FALSE(h.forwarded(b2));
  EXPECT_FALSE(h.forwarded(a2));
  EXPECT_FALSE(h.forwarded(d));
  // No queue: a, then b, then d. Headroom 10,000 x (0.90 - 0.50) = 4,000 less a's and b's
  // footprints (1,100 + 100 observed output each) = 1,600 >= d's 1,000 + 100; resident
  // demand 1,200 + 1,200 + 1,500 (c) + 1,100 = 5,000 <= 9,000.
  poll(h, 0, 0.50);
  ASSERT_GE(h.driver.forwards.size(), 3u);
  const auto n = h.driver.forwards.size();
  EXPECT_EQ(h.driver.forwards[n - 3].program, "a");
  EXPECT_EQ(h.driver.forwards[n - 2].program, "b");
  EXPECT_EQ(h.driver.forwards[n - 1].program, "d");
  EXPECT_TRUE(h.forwarded(d));
}

TEST(Admit, HoldsNothingWhileNoAdmittedProgramIsInACall) {
  auto h = harness(holding(2));
  poll(h, 0, 0.10);
  h.done(h.call("a", 1000), 1000, 100);
  poll(h, 0, 0.99, /*waiting=*/5);  // full, but nothing of ours runs: work-conserving
  EXPECT_TRUE(h.forwarded(h.call("a", 1200)));
}

TEST(Admit, ModeTwoAlsoHoldsACallTheKvCannotHold) {
  for (double mode : {1.0, 2.0}) {
    auto h = harness(holding(mode));
    poll(h, 0, 0.10);
    const RequestId a = h.call("a", 1000);
    h.call("b", 1000);     // stays in its call
    h.done(a, 1000, 100);  // a's footprint: 1,100 + 100 = 1,200
    poll(h, 0, 0.85);      // no queue; 10,000 x (0.90 - 0.85) = 500 tokens of headroom
    const RequestId next = h.call("a", 1100);
    EXPECT_EQ(h.forwarded(next), mode == 1.0) << mode;
    poll(h, 0, 0.70);  // 2,000 >= 1,200
    EXPECT_TRUE(h.forwarded(next)) << mode;
  }
}

TEST(Admit, ReleasingAHeldProgramForgetsItsHold) {
  auto h = harness(holding(1));
  poll(h, 0, 0.10);
  const RequestId a = h.call("a", 1000);
  const RequestId b = h.call("b", 1000);
  h.call("c", 1000);  // stays in its call
  h.done(a, 1000, 100);
  h.done(b, 1000, 100);
  poll(h, 0, 0.50, /*waiting=*/1);
  h.call("a", 1100);
  const RequestId b2 = h.call("b", 1100);
  h.gw.release("a");
  poll(h, 0, 0.50);
  EXPECT_TRUE(h.forwarded(b2));
  EXPECT_FALSE(policy(h).is_admitted("a"));
}

// With a host tier of 10,000 tokens the budget is 0.75 x (10,000 + 10,000) = 15,000 tokens of
// what programs do not share; a full GPU and an engine queue do not stop admission.
TEST(Admit, WithAHostTierAdmitsWhatGpuPlusHostHolds) {
  auto h = harness();
  poll(h, 0, 0.99, /*waiting=*/5, /*host_blocks=*/625);
  const RequestId a1 = h.call("a", 8000);  // 8,000 + 500 estimated: 8,500 <= 15,000
  const RequestId b1 = h.call("b", 8000);  // 8,500 + 8,500 > 15,000: held
  EXPECT_TRUE(h.forwarded(a1));
  EXPECT_FALSE(h.forwarded(b1));
  // a's first call found 6,000 tokens cached (shared with programs before it): it holds
  // 8,100 + 100 (observed output) - 6,000 = 2,200 of its own. b is taken to share as much:
  // 8,500 - 6,000 = 2,500, and 2,200 + 2,500 fits.
  h.done(a1, 8000, 100, /*cached=*/6000);
  poll(h, 0, 0.99, 5, 625);
  EXPECT_TRUE(h.forwarded(b1));
  EXPECT_EQ(policy(h).stats().admitted_on_room, 1);
}

TEST(Admit, WithAHostTierTheYoungestWaitsWhenTheAdmittedOutgrowIt) {
  auto h = harness();
  poll(h, 0, 0.50, 0, /*host_blocks=*/625);  // budget 15,000
  const RequestId a1 = h.call("a", 8000);
  h.done(a1, 8000, 100, 6000);                    // a: 2,200 of its own
  h.done(h.call("b", 8000), 12000, 100, 6000);    // b: 12,200 - 6,000 = 6,200
  h.done(h.call("a", 16000), 16000, 100, 15000);  // a grew: 16,200 - 6,000 = 10,200
  const RequestId a3 = h.call("a", 16500);        // the oldest always runs; a is now in a call
  EXPECT_TRUE(h.forwarded(a3));
  // a and b together: 10,200 + 6,200 > 15,000, so b, the younger, waits...
  const RequestId b2 = h.call("b", 12500);
  EXPECT_FALSE(h.forwarded(b2));
  // ...and nobody new starts while an admitted program waits, however small.
  const RequestId c1 = h.call("c", 100);
  poll(h, 0, 0.10, 0, 625);
  EXPECT_FALSE(h.forwarded(b2));
  EXPECT_FALSE(h.forwarded(c1));
  // a finishes: b runs, then c (200 tokens, 0 of its own once 6,000 are taken as shared).
  h.gw.release("a");
  poll(h, 0, 0.10, 0, 625);
  EXPECT_TRUE(h.forwarded(b2));
  EXPECT_TRUE(h.forwarded(c1));
  EXPECT_EQ(policy(h).stats().calls_held, 1);
}

TEST(Admit, WithHostTiersAHeldProgramGoesWhereTheBudgetHasRoom) {
  auto h = harness({}, 2);
  poll(h, 0, 0.05, 0, /*host_blocks=*/625);  // budget 15,000 each
  poll(h, 1, 0.60, 0, 625);
  h.call("a", 14000);  // most GPU headroom: backend 0, 14,500 of its own
  EXPECT_EQ(h.driver.forwards.back().backend, 0u);
  poll(h, 0, 0.05, 0, 625);
  const RequestId b = h.call("b", 1000);  // parked on backend 0 too, where 1,500 more do not fit
  EXPECT_FALSE(h.forwarded(b));
  // Backend 0's GPU still looks emptier, but only backend 1's budget has room for b.
  poll(h, 0, 0.05, 0, 625);
  ASSERT_TRUE(h.forwarded(b));
  EXPECT_EQ(h.driver.forwards.back().backend, 1u);
}

TEST(Admit, WithoutAHostTierTheGpuRulesStay) {
  auto h = harness();
  poll(h, 0, 0.99, /*waiting=*/5, /*host_blocks=*/0);
  EXPECT_FALSE(h.forwarded(h.call("a", 100)));
}

TEST(Admit, ParametersAreValidated) {
  EXPECT_FALSE(make_gateway_policy("admit", {{"hold_admitted", 3}}).ok());
  EXPECT_TRUE(make_gateway_policy("admit", {{"hold_admitted", 2}}).ok());
  EXPECT_FALSE(make_gateway_policy("admit", {{"high_water", 1.5}}).ok());
  EXPECT_FALSE(make_gateway_policy("admit", {{"max_wait_s", -1}}).ok());
  auto unknown = make_gateway_policy("admit", {{"budget", 1}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("has no parameter 'budget'"), std::string::npos);
  EXPECT_TRUE(make_gateway_policy("admit", {{"max_wait_s", 120}}).ok());
}

}  // namespace
}  // namespace agentsched
