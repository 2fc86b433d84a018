// EngineModel with the continuum policy (docs/reference-study.md section 6): program-level
// FCFS, KV pins of 2 s after calls that lead into short tools, unpin-then-preempt under KV
// pressure. Same conventions as engine_model_test.cc: tiny_profile(), every step T = 0.125 s.
#include <gtest/gtest.h>

#include "engine/engine_test_util.h"

namespace agentsched {
namespace {

using testing::blocks;
using testing::EngineDriver;
using testing::kStep;
using testing::kUsageTol;
using testing::prefix_hashes;
using testing::tiny_profile;

// One sequence at a time, so the waiting queue's order is the order of service.
//   t=0   a1 (program 1, output 3) runs steps 1..3.
//   t=T   b1 (program 2) waits.
//   t=2T  a2 (program 1) arrives after b1.
std::vector<RequestId> service_order(std::string_view policy) {
  EngineDriver d(tiny_profile(/*max_num_seqs=*/1), policy, blocks(64));
  d.add({.id = 1, .program_key = 1, .prompt_tokens = 16, .output_tokens = 3});
  d.steps(1);
  d.add({.id = 2, .program_key = 2, .prompt_tokens = 16, .output_tokens = 1});
  d.steps(1);
  d.add({.id = 3, .program_key = 1, .prompt_tokens = 16, .output_tokens = 1});
  d.run_until_idle();
  EXPECT_EQ(d.finished(1).timeline.finished, 3 * kStep);
  EXPECT_EQ(d.finished(d.finish_order()[1]).timeline.finished, 4 * kStep);
  EXPECT_EQ(d.finished(d.finish_order()[2]).timeline.finished, 5 * kStep);
  return d.finish_order();
}

TEST(Continuum, WaitingQueueIsOrderedByProgramFirstArrival) {
  // Program 1 arrived first (t=0), so its later request a2 goes ahead of b1 of program 2.
  EXPECT_EQ(service_order("continuum"), (std::vector<RequestId>{1, 3, 2}));
  // vLLM serves requests by their own arrival.
  EXPECT_EQ(service_order("fcfs"), (std::vector<RequestId>{1, 2, 3}));
}

TEST(Continuum, PinsAfterACallIntoAnUnknownOrShortToolAndReusesIt) {
  EngineDriver d(tiny_profile(), "continuum", blocks(64));
  // p1: 48 tokens = 3 full blocks, then the program runs "lookup" (never seen: mean 0).
  d.add({.id = 1,
         .program_key = 7,
         .prompt_tokens = 48,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(7, 3),
         .next_tool = "lookup"});
  d.steps(1);
  ASSERT_TRUE(d.is_finished(1));
  EXPECT_TRUE(d.engine().has_pin(7));
  EXPECT_EQ(d.engine().num_pins(), 1);
  EXPECT_DOUBLE_EQ(d.engine().counters().pins_created, 1);
  // The pinned blocks stay used after the request finished: null + 3.
  EXPECT_NEAR(d.engine().metrics().kv_usage, d.usage_of(4), kUsageTol);
  EXPECT_FALSE(d.engine().has_work());
  ASSERT_TRUE(d.engine().next_wakeup().has_value());
  EXPECT_EQ(*d.engine().next_wakeup(), kStep + 2.0);

  // The tool takes 0.5 s: p2 (72 tokens extending p1) arrives at 0.625 and is admitted at
  // once. The pin ends as reused, and p2 hits the 3 pinned blocks: 48 tokens.
  d.run_until(0.625);
  EXPECT_EQ(d.now(), 0.625);
  d.add({.id = 2,
         .program_key = 7,
         .prompt_tokens = 72,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(7, 4),
         .next_tool = "lookup"});
  d.steps(1);
  EXPECT_DOUBLE_EQ(d.engine().counters().pins_reused, 1);
  EXPECT_EQ(d.finished(2).timeline.cached_tokens, 48);
  // "lookup" now has a measured mean of 0.625 - 0.125 = 0.5 s <= 2 s: pinned again, with p2's
  // 5 blocks (72 tokens: 4 full + 1 partial).
  EXPECT_DOUBLE_EQ(d.engine().counters().pins_created, 2);
  EXPECT_NEAR(d.engine().metrics().kv_usage, d.usage_of(6), kUsageTol);
  EXPECT_EQ(*d.engine().next_wakeup(), 0.75 + 2.0);

  // p3 answers the user (next_tool ""): it reuses the pin (4 full blocks cached of 100
  // tokens: 64 hit) and leaves no pin behind.
  d.run_until(1.0);
  d.add({.id = 3,
         .program_key = 7,
         .prompt_tokens = 100,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(7, 6)});
  d.steps(1);
  EXPECT_DOUBLE_EQ(d.engine().counters().pins_reused, 2);
  EXPECT_EQ(d.finished(3).timeline.cached_tokens, 64);
  EXPECT_EQ(d.engine().num_pins(), 0);
  EXPECT_DOUBLE_EQ(d.engine().counters().pins_created, 2);
  EXPECT_NEAR(d.engine().metrics().kv_usage, 1.0 / 64, kUsageTol);

  // A last step never pins, whatever tool it names.
  d.add({.id = 4,
         .program_key = 8,
         .prompt_tokens = 16,
         .output_tokens = 1,
         .is_last_step = true,
         .next_tool = "lookup"});
  d.steps(1);
  EXPECT_EQ(d.engine().num_pins(), 0);
  EXPECT_NEAR(d.engine().metrics().kv_usage, 1.0 / 64, kUsageTol);
  // Prefix cache counters: queries 48+72+100+16, hits 0+48+64+0.
  EXPECT_DOUBLE_EQ(d.engine().metrics().prefix_cache_queries, 236);
  EXPECT_DOUBLE_EQ(d.engine().metrics().prefix_cache_hits, 112);
  EXPECT_FALSE(d.engine().next_wakeup().has_value());
}

// What a pin is for: 8 usable blocks. p1 (program 1, 48 tokens = blocks H0..H2) ends at T
// and its program runs a tool; meanwhile r and q of other programs need blocks.
//   step 1: p1 takes 3 blocks, r (64 tokens) a 16-token chunk: 1 block. p1 ends at T.
//   step 2: r's next 48 tokens: 3 more blocks. step 3: r's 65th token: a 5th; r ends at 3T.
//   q (64 tokens) at 3T takes 4 blocks in step 4 and ends at 4T.
// Under fcfs p1's blocks were freed at T, before r's: least recently freed, they are the
// ones q takes. Under continuum they are pinned (used), r and q never touch them.
// p2 (64 tokens extending p1) at 4T: continuum hits 48 tokens, fcfs none.
std::int64_t hit_after_a_tool_call(std::string_view policy) {
  EngineDriver d(tiny_profile(), policy, blocks(9));
  d.add({.id = 1,
         .program_key = 1,
         .prompt_tokens = 48,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(1, 3),
         .next_tool = "t"});
  d.add({.id = 2, .program_key = 2, .prompt_tokens = 64, .output_tokens = 2});
  d.steps(3);
  EXPECT_EQ(d.finished(2).timeline.finished, 3 * kStep);
  d.add({.id = 3, .program_key = 3, .prompt_tokens = 64, .output_tokens = 1});
  d.steps(1);
  d.add({.id = 4,
         .program_key = 1,
         .prompt_tokens = 64,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(1, 4)});
  d.run_until_idle();
  EXPECT_EQ(d.finished(4).timeline.finished, 5 * kStep);
  EXPECT_DOUBLE_EQ(d.engine().counters().preemptions, 0);
  EXPECT_NEAR(d.engine().metrics().kv_usage, 1.0 / 9, kUsageTol);
  return d.finished(4).timeline.cached_tokens;
}

TEST(Continuum, PinKeepsKvThatLruWouldEvictDuringTheToolCall) {
  EXPECT_EQ(hit_after_a_tool_call("continuum"), 48);
  EXPECT_EQ(hit_after_a_tool_call("fcfs"), 0);
}

TEST(Continuum, FcfsNeverPins) {
  EngineDriver d(tiny_profile(), "fcfs", blocks(64));
  d.add(
      {.id = 1, .program_key = 7, .prompt_tokens = 48, .output_tokens = 1, .next_tool = "lookup"});
  d.run_until_idle();
  EXPECT_EQ(d.engine().num_pins(), 0);
  EXPECT_NEAR(d.engine().metrics().kv_usage, 1.0 / 64, kUsageTol);
}

TEST(Continuum, PinExpiresAfterTtlAndSlowToolsAreNotPinned) {
  EngineDriver d(tiny_profile(), "continuum", blocks(64));
  d.add({.id = 1,
         .program_key = 1,
         .prompt_tokens = 32,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(1, 2),
         .next_tool = "slow"});
  d.steps(1);  // ends at T with a pin of 2 blocks until T + 2 = 2.125
  EXPECT_NEAR(d.engine().metrics().kv_usage, d.usage_of(3), kUsageTol);
  ASSERT_TRUE(d.engine().next_wakeup().has_value());
  EXPECT_EQ(*d.engine().next_wakeup(), 2.125);
  // A timer before the TTL changes nothing.
  d.clock().advance_to(2.0);
  d.engine().on_timer();
  EXPECT_TRUE(d.engine().has_pin(1));
  // At the TTL, with nothing of program 1 waiting, the pin expires.
  d.clock().advance_to(2.125);
  d.engine().on_timer();
  EXPECT_FALSE(d.engine().has_pin(1));
  EXPECT_DOUBLE_EQ(d.engine().counters().pins_expired, 1);
  EXPECT_NEAR(d.engine().metrics().kv_usage, 1.0 / 64, kUsageTol);
  EXPECT_FALSE(d.engine().next_wakeup().has_value());

  // The program comes back 3 s after its call ended: "slow" has a mean of 3 s > 2 s, so the
  // call after which it runs "slow" again is not pinned.
  d.clock().advance_to(3.125);
  d.add({.id = 2,
         .program_key = 1,
         .prompt_tokens = 48,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(1, 3),
         .next_tool = "slow"});
  d.steps(1);  // ends at 3.25
  ASSERT_TRUE(d.is_finished(2));
  EXPECT_EQ(d.finished(2).timeline.cached_tokens, 32);  // cached (free) blocks still hit
  EXPECT_EQ(d.engine().num_pins(), 0);
  EXPECT_DOUBLE_EQ(d.engine().counters().pins_created, 1);
  EXPECT_NEAR(d.engine().metrics().kv_usage, 1.0 / 64, kUsageTol);

  // A tool measured at exactly 2 s is still pinned ("at most 2 s").
  d.add({.id = 3, .program_key = 2, .prompt_tokens = 16, .output_tokens = 1, .next_tool = "edge"});
  d.steps(1);  // ends at 3.375, pinned (unknown tool) until 5.375
  EXPECT_DOUBLE_EQ(d.engine().counters().pins_created, 2);
  d.run_until(5.375);  // the pin expires at 5.375 exactly
  EXPECT_DOUBLE_EQ(d.engine().counters().pins_expired, 2);
  d.add({.id = 4, .program_key = 2, .prompt_tokens = 16, .output_tokens = 1, .next_tool = "edge"});
  d.steps(1);  // "edge": 5.375 - 3.375 = 2.0 s
  EXPECT_EQ(d.engine().num_pins(), 1);
  EXPECT_DOUBLE_EQ(d.engine().counters().pins_created, 3);
}

TEST(Continuum, PinOutlivesItsTtlWhileTheProgramHasARequestWaiting) {
  EngineDriver d(tiny_profile(/*max_num_seqs=*/1), "continuum", blocks(64));
  // Program 5 arrives first (z0), program 1 second (p1); one sequence at a time.
  // Step 1: z0 ends at T. Step 2: p1 ends at 2T with a pin of 2 blocks until 2T + 2 = 2.25.
  d.add({.id = 50, .program_key = 5, .prompt_tokens = 16, .output_tokens = 1});
  d.add({.id = 1,
         .program_key = 1,
         .prompt_tokens = 32,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(1, 2),
         .next_tool = "t"});
  d.steps(2);
  ASSERT_TRUE(d.engine().has_pin(1));
  // x (program 9, output 40) runs steps 3..42 and holds the only sequence slot until 42T.
  d.add({.id = 9, .program_key = 9, .prompt_tokens = 16, .output_tokens = 40});
  d.steps(1);
  // z1 of program 5 arrives at 3T and waits for x.
  d.add({.id = 51, .program_key = 5, .prompt_tokens = 16, .output_tokens = 1});
  d.steps(1);
  // p2 arrives at 4T. Program 5 came first, but program 1 holds a live pin: p2 goes ahead.
  d.add({.id = 2,
         .program_key = 1,
         .prompt_tokens = 48,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(1, 3)});
  EXPECT_FALSE(d.engine().next_wakeup().has_value());  // the only pin has a request waiting
  d.run_until(3.0);                                    // well past the TTL
  EXPECT_TRUE(d.engine().has_pin(1));
  EXPECT_DOUBLE_EQ(d.engine().counters().pins_expired, 0);
  // null + the pin's 2 + x's 3 (37 tokens in the step that ended at 3.0)
  EXPECT_NEAR(d.engine().metrics().kv_usage, d.usage_of(1 + 2 + 3), kUsageTol);
  // Step 43 (at 42T) admits p2: the pin is reused, its 2 blocks hit; p2 ends at 43T and z1
  // at 44T.
  d.run_until_idle();
  EXPECT_EQ(d.finish_order(), (std::vector<RequestId>{50, 1, 9, 2, 51}));
  EXPECT_EQ(d.finished(9).timeline.finished, 42 * kStep);
  EXPECT_EQ(d.finished(2).timeline.first_scheduled, 42 * kStep);
  EXPECT_EQ(d.finished(2).timeline.finished, 43 * kStep);
  EXPECT_EQ(d.finished(2).timeline.cached_tokens, 32);
  EXPECT_EQ(d.finished(51).timeline.finished, 44 * kStep);
  EXPECT_DOUBLE_EQ(d.engine().counters().pins_reused, 1);
  EXPECT_DOUBLE_EQ(d.engine().counters().pins_expired, 0);
  EXPECT_EQ(d.engine().num_pins(), 0);
  EXPECT_NEAR(d.engine().metrics().kv_usage, 1.0 / 64, kUsageTol);
}

TEST(Continuum, UnderPressureThePinEndingLastGoesFirst) {
  EngineDriver d(tiny_profile(/*max_num_seqs=*/8), "continuum", blocks(9));  // 8 usable
  // Step 1: a (32 tokens) and b (32 tokens) prefill, 2 blocks each; a ends: pin A of 2
  // blocks until T + 2. Step 2: b's 33rd token takes a 3rd block; b ends: pin B of 3 blocks
  // until 2T + 2. 6 blocks used, 3 free, nothing running.
  d.add({.id = 1, .program_key = 1, .prompt_tokens = 32, .output_tokens = 1, .next_tool = "t"});
  d.add({.id = 2, .program_key = 2, .prompt_tokens = 32, .output_tokens = 2, .next_tool = "t"});
  d.steps(2);
  EXPECT_EQ(d.engine().num_pins(), 2);
  EXPECT_NEAR(d.engine().metrics().kv_usage, d.usage_of(6), kUsageTol);
  // c (96 tokens) at 2T: its first chunk (64 tokens) needs 4 blocks, 3 are free. Admitting
  // it releases pin B, the one ending last (6 free), and c takes 4. Step 4: c's last 32
  // tokens take the 2 blocks left; c ends at 4T.
  d.add({.id = 3, .program_key = 3, .prompt_tokens = 96, .output_tokens = 1});
  d.steps(1);
  EXPECT_TRUE(d.engine().has_pin(1));
  EXPECT_FALSE(d.engine().has_pin(2));
  EXPECT_DOUBLE_EQ(d.engine().counters().pins_evicted, 1);
  d.steps(1);
  EXPECT_EQ(d.finished(3).timeline.finished, 4 * kStep);
  EXPECT_DOUBLE_EQ(d.engine().counters().preemptions, 0);
  EXPECT_NEAR(d.engine().metrics().kv_usage, d.usage_of(3), kUsageTol);  // null + pin A
  // e (128 tokens) at 4T: step 5 takes 4 blocks (2 free); in step 6 the running e needs 4
  // more: pin A goes, and nothing is preempted. e ends at 6T.
  d.add({.id = 4, .program_key = 4, .prompt_tokens = 128, .output_tokens = 1});
  d.steps(1);
  EXPECT_TRUE(d.engine().has_pin(1));
  d.steps(1);
  EXPECT_EQ(d.engine().num_pins(), 0);
  EXPECT_DOUBLE_EQ(d.engine().counters().pins_evicted, 2);
  EXPECT_DOUBLE_EQ(d.engine().counters().preemptions, 0);
  EXPECT_EQ(d.finished(4).timeline.finished, 6 * kStep);
  EXPECT_NEAR(d.engine().metrics().kv_usage, 1.0 / 9, kUsageTol);
}

// The timeline of EngineModel.FcfsPreemptsTheNewestRunningRequestAndRecomputesIt, under
// continuum: 8 usable blocks; program 1 arrives first (a0 at 0), program 2 second (b at T);
// a1 of program 1 is admitted after b (at 2T); from step 4 no block is free. In step 19 b
// needs a 5th block. Continuum preempts the running request of the program that arrived
// latest, b itself, although a1 was admitted last.
TEST(Continuum, PreemptsTheRunningRequestOfTheLatestArrivingProgram) {
  EngineDriver d(tiny_profile(/*max_num_seqs=*/8), "continuum", blocks(9));
  d.add({.id = 10, .program_key = 1, .prompt_tokens = 16, .output_tokens = 1});
  d.steps(1);
  d.add({.id = 20,
         .program_key = 2,
         .prompt_tokens = 48,
         .output_tokens = 40,
         .prompt_block_hashes = prefix_hashes(20, 3)});
  d.steps(1);
  d.add({.id = 11,
         .program_key = 1,
         .prompt_tokens = 48,
         .output_tokens = 40,
         .prompt_block_hashes = prefix_hashes(11, 3)});
  d.steps(16);
  EXPECT_EQ(d.engine().block_pool().num_free(), 0);
  // Step 19: b is preempted: its 4 full blocks (3 prompt, 1 of its own output) are freed
  // last-first; a1 runs on with 4 blocks.
  d.steps(1);
  EXPECT_DOUBLE_EQ(d.engine().counters().preemptions, 1);
  EXPECT_EQ(d.engine().num_running(), 1);
  EXPECT_EQ(d.engine().num_waiting(), 1);
  EXPECT_NEAR(d.engine().metrics().kv_usage, d.usage_of(5), kUsageTol);  // null + a1's 4
  // Step 20: a1 takes a 5th block: b's 4th (its tail, freed first). b (48 + 17 = 65 tokens)
  // would hit 3 blocks but needs 5 with 3 free: it waits. Step 36: a1 takes a 6th block: b's
  // 3rd prompt block. a1 ends after step 42 (5.25). Step 43: b hits 2 blocks (32 tokens),
  // recomputes 33 and samples token 18; tokens 19..40 in steps 44..65: it ends at 65T.
  d.run_until_idle();
  EXPECT_EQ(d.finish_order(), (std::vector<RequestId>{10, 11, 20}));
  const FinishedRequest a1 = d.finished(11);
  const FinishedRequest b = d.finished(20);
  EXPECT_EQ(a1.timeline.finished, 42 * kStep);
  EXPECT_EQ(a1.timeline.preemptions, 0);
  EXPECT_EQ(a1.output_tokens, 40);
  EXPECT_EQ(b.timeline.finished, 65 * kStep);
  EXPECT_EQ(b.timeline.preemptions, 1);
  EXPECT_EQ(b.output_tokens, 40);
  EXPECT_EQ(b.timeline.computed_prompt_tokens, 48 + 33);
  EXPECT_DOUBLE_EQ(d.engine().counters().prefix_cache_queries, 16 + 48 + 48 + 65);
  EXPECT_DOUBLE_EQ(d.engine().counters().prefix_cache_hits, 32);
  EXPECT_NEAR(d.engine().metrics().kv_usage, 1.0 / 9, kUsageTol);
}

// As above, plus w (program 1, 16 tokens) arriving at 18T into an engine with no free block.
// Step 19 preempts b (4 blocks freed): w, ahead of b in the queue (program 1 before program
// 2) and needing 1 block, would fit, but a step that preempted admits nobody. w starts in
// step 20 (at 19T) after a1 took its 5th block, and ends at 20T.
TEST(Continuum, NoWaitingRequestIsAdmittedInAStepThatPreempted) {
  EngineDriver d(tiny_profile(/*max_num_seqs=*/8), "continuum", blocks(9));
  d.add({.id = 10, .program_key = 1, .prompt_tokens = 16, .output_tokens = 1});
  d.steps(1);
  d.add({.id = 20,
         .program_key = 2,
         .prompt_tokens = 48,
         .output_tokens = 40,
         .prompt_block_hashes = prefix_hashes(20, 3)});
  d.steps(1);
  d.add({.id = 11,
         .program_key = 1,
         .prompt_tokens = 48,
         .output_tokens = 40,
         .prompt_block_hashes = prefix_hashes(11, 3)});
  d.steps(16);
  d.add({.id = 12, .program_key = 1, .prompt_tokens = 16, .output_tokens = 1});
  d.steps(1);  // step 19
  EXPECT_DOUBLE_EQ(d.engine().counters().preemptions, 1);
  EXPECT_EQ(d.engine().num_waiting(), 2);
  EXPECT_EQ(d.engine().block_pool().num_free(), 4);
  d.steps(1);  // step 20
  EXPECT_EQ(d.finished(12).timeline.first_scheduled, 19 * kStep);
  EXPECT_EQ(d.finished(12).timeline.waiting_s, kStep);
  EXPECT_EQ(d.finished(12).timeline.finished, 20 * kStep);
  // w took b's 3rd prompt block, a1's 6th block (step 36) b's 2nd: b hits only its first
  // block (16 tokens) in step 43, and still ends at 65T.
  d.run_until_idle();
  EXPECT_EQ(d.finished(11).timeline.finished, 42 * kStep);
  EXPECT_EQ(d.finished(20).timeline.finished, 65 * kStep);
  EXPECT_EQ(d.finished(20).output_tokens, 40);
  EXPECT_DOUBLE_EQ(d.engine().counters().prefix_cache_hits, 16);
  EXPECT_NEAR(d.engine().metrics().kv_usage, 1.0 / 9, kUsageTol);
}

}  // namespace
}  // namespace agentsched
