// EngineModel with the fcfs policy: vLLM V1 scheduling (docs/reference-study.md sections 6 and 8).
// Unless said otherwise: tiny_profile() (16-token blocks, 64 tokens per step, 4 sequences,
// every step 0.125 s = T), and the request that starts at step k (k = 1, 2, ...) begins at
// (k-1)T. A request with output n is prefilled, samples its first token at the end of its
// last prefill step, then decodes one token per step: it ends n-1 steps later.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/engine_test_util.h"
#include "model/cost_model.h"

namespace agentsched {
namespace {

using testing::blocks;
using testing::EngineDriver;
using testing::kStep;
using testing::kUsageTol;
using testing::prefix_hashes;
using testing::tiny_profile;

TEST(EnginePolicyRegistry, KnowsFcfsContinuumAndPlas) {
  EXPECT_EQ(engine_policy_names(), (std::vector<std::string_view>{"fcfs", "continuum", "plas"}));
  EXPECT_EQ(make_engine_policy("fcfs").value()->name(), "fcfs");
  EXPECT_EQ(make_engine_policy("continuum").value()->name(), "continuum");
  EXPECT_EQ(make_engine_policy("plas").value()->name(), "plas");
  auto bad = make_engine_policy("lifo");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("unknown engine policy 'lifo'"), std::string::npos);
}

TEST(EngineModel, IdleEngineReportsTheNullBlock) {
  EngineDriver d(tiny_profile(), "fcfs", blocks(64));
  EXPECT_FALSE(d.engine().has_work());
  EXPECT_FALSE(d.engine().begin_step().has_value());
  EXPECT_FALSE(d.engine().next_wakeup().has_value());
  const BackendMetrics m = d.engine().metrics();
  EXPECT_NEAR(m.kv_usage, 1.0 / 64, kUsageTol);
  EXPECT_EQ(m.num_gpu_blocks, 64);
  EXPECT_EQ(m.block_size, 16);
  EXPECT_EQ(m.num_running, 0);
  EXPECT_EQ(m.num_waiting, 0);
  EXPECT_EQ(m.kv_capacity_tokens(), 1024);
}

TEST(EngineModel, RejectsBadRequests) {
  EngineDriver d(tiny_profile(4, 64, /*max_model_len=*/512), "fcfs", blocks(64));
  auto too_long = d.engine().add_request({.id = 1, .prompt_tokens = 500, .output_tokens = 13});
  ASSERT_FALSE(too_long.ok());
  // 500 + 13 = 513 > 512; the text is vLLM's, which clients match on.
  EXPECT_NE(too_long.error().message.find("maximum context length"), std::string::npos);
  EXPECT_NE(too_long.error().message.find("512"), std::string::npos);
  EXPECT_NE(too_long.error().message.find("513"), std::string::npos);
  EXPECT_TRUE(d.engine().add_request({.id = 2, .prompt_tokens = 500, .output_tokens = 12}).ok());
  auto dup = d.engine().add_request({.id = 2, .prompt_tokens = 10, .output_tokens = 1});
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("duplicate"), std::string::npos);
  EXPECT_FALSE(d.engine().add_request({.id = 3, .prompt_tokens = 0, .output_tokens = 1}).ok());
  EXPECT_FALSE(d.engine().add_request({.id = 4, .prompt_tokens = 5, .output_tokens = 0}).ok());
  EXPECT_EQ(d.engine().num_waiting(), 1);
}

TEST(EngineModel, PromptExtendingAnEarlierOneHitsThePrefixCache) {
  EngineDriver d(tiny_profile(), "fcfs", blocks(64));
  // A: 40 tokens = 2 full blocks (content 1) + 8 tokens. Nothing cached: hit 0, and after its
  // one step only the 2 full blocks are cached, not the partial third.
  d.add({.id = 1,
         .prompt_tokens = 40,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(1, 2)});
  d.run_until_idle();
  EXPECT_EQ(d.finished(1).timeline.cached_tokens, 0);
  EXPECT_EQ(d.engine().block_pool().num_cached(), 2u);
  EXPECT_NEAR(d.engine().metrics().kv_usage, 1.0 / 64, kUsageTol);  // cached blocks count as free

  // B extends A: 72 tokens, blocks 0..3 of content 1. Blocks 0, 1 hit: 32 tokens cached, 40
  // computed. B caches its blocks 2 and 3: 4 cached in all.
  d.add({.id = 2,
         .prompt_tokens = 72,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(1, 4)});
  d.run_until_idle();
  EXPECT_EQ(d.finished(2).timeline.cached_tokens, 32);
  EXPECT_EQ(d.finished(2).timeline.computed_prompt_tokens, 40);
  EXPECT_EQ(d.engine().block_pool().num_cached(), 4u);

  // C: 32 tokens = exactly blocks 0, 1. The last token is always computed, so at most 31
  // tokens may hit, and only full blocks do: 1 block, 16 tokens.
  d.add({.id = 3,
         .prompt_tokens = 32,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(1, 2)});
  d.run_until_idle();
  EXPECT_EQ(d.finished(3).timeline.cached_tokens, 16);
  EXPECT_EQ(d.finished(3).timeline.computed_prompt_tokens, 16);

  // D: 64 tokens = blocks 0..3, all cached; the cap leaves (64-1)/16 = 3 blocks: 48 tokens.
  d.add({.id = 4,
         .prompt_tokens = 64,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(1, 4)});
  d.run_until_idle();
  EXPECT_EQ(d.finished(4).timeline.cached_tokens, 48);

  // E: other content: no hit. F: same first block, then different content: 16 tokens.
  d.add({.id = 5,
         .prompt_tokens = 48,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(2, 3)});
  std::vector<std::uint64_t> diverging = prefix_hashes(1, 1);
  diverging.push_back(999);
  diverging.push_back(1000);
  d.add({.id = 6, .prompt_tokens = 64, .output_tokens = 1, .prompt_block_hashes = diverging});
  d.run_until_idle();
  EXPECT_EQ(d.finished(5).timeline.cached_tokens, 0);
  EXPECT_EQ(d.finished(6).timeline.cached_tokens, 16);
  // G: blocks 0, 2, 3 of content 1 are cached but block 1 is not: a hit is a prefix, it
  // stops at the first miss: 16 tokens.
  std::vector<std::uint64_t> gap = prefix_hashes(1, 4);
  gap[1] = 777;
  d.add({.id = 7, .prompt_tokens = 64, .output_tokens = 1, .prompt_block_hashes = gap});
  d.run_until_idle();
  EXPECT_EQ(d.finished(7).timeline.cached_tokens, 16);

  // Counters in tokens: queries 40+72+32+64+48+64+64 = 384, hits 0+32+16+48+0+16+16 = 128.
  const BackendMetrics m = d.engine().metrics();
  EXPECT_DOUBLE_EQ(m.prefix_cache_queries, 384);
  EXPECT_DOUBLE_EQ(m.prefix_cache_hits, 128);
  EXPECT_DOUBLE_EQ(d.engine().counters().prefix_cache_queries, 384);
  EXPECT_DOUBLE_EQ(d.engine().counters().prefix_cache_hits, 128);
  EXPECT_NEAR(m.kv_usage, 1.0 / 64, kUsageTol);
}

TEST(EngineModel, ChunkedPrefillRespectsTheTokenBudget) {
  EngineDriver d(tiny_profile(4, /*max_num_batched_tokens=*/64), "fcfs", blocks(64));
  d.add({.id = 1, .prompt_tokens = 150, .output_tokens = 2});
  d.add({.id = 2, .prompt_tokens = 30, .output_tokens = 1});
  // Step 1: A takes 64 of 150, the budget is spent, B is not even looked at.
  d.steps(1);
  EXPECT_EQ(d.engine().num_running(), 1);
  EXPECT_EQ(d.engine().num_waiting(), 1);
  // Step 2: A 64 more (128). Step 3: A's last 22, then B's 30 fit in the 42 left; both sample
  // their first token: B (output 1) ends at 3T. Step 4: A decodes its second token: 4T.
  d.steps(1);
  EXPECT_EQ(d.engine().num_waiting(), 1);
  d.run_until_idle();
  EXPECT_EQ(d.finish_order(), (std::vector<RequestId>{2, 1}));
  const FinishedRequest a = d.finished(1);
  const FinishedRequest b = d.finished(2);
  EXPECT_EQ(a.output_tokens, 2);
  EXPECT_EQ(a.timeline.first_scheduled, 0.0);
  EXPECT_EQ(a.timeline.first_token, 3 * kStep);
  EXPECT_EQ(a.timeline.finished, 4 * kStep);
  EXPECT_EQ(a.timeline.prefill_s, 3 * kStep);
  EXPECT_EQ(a.timeline.decode_s, kStep);
  EXPECT_EQ(a.timeline.computed_prompt_tokens, 150);
  EXPECT_EQ(b.timeline.first_scheduled, 2 * kStep);
  EXPECT_EQ(b.timeline.waiting_s, 2 * kStep);
  EXPECT_EQ(b.timeline.first_token, 3 * kStep);
  EXPECT_EQ(b.timeline.finished, 3 * kStep);
  const EngineCounters& c = d.engine().counters();
  EXPECT_DOUBLE_EQ(c.steps, 4);
  EXPECT_DOUBLE_EQ(c.busy_s, 4 * kStep);
  EXPECT_DOUBLE_EQ(c.prompt_tokens_computed, 180);
  EXPECT_DOUBLE_EQ(c.generation_tokens, 3);
}

TEST(EngineModel, MaxNumSeqsCapsTheRunningBatch) {
  EngineDriver d(tiny_profile(/*max_num_seqs=*/4), "fcfs", blocks(64));
  for (RequestId id = 1; id <= 6; ++id) d.add({.id = id, .prompt_tokens = 10, .output_tokens = 3});
  // Step 1 admits 1..4 (40 tokens; 24 of the budget left but 4 sequences run).
  d.steps(1);
  EXPECT_EQ(d.engine().num_running(), 4);
  EXPECT_EQ(d.engine().num_waiting(), 2);
  // 1..4 decode in steps 2 and 3 and end at 3T; 5 and 6 run steps 4..6 and end at 6T.
  d.run_until_idle();
  for (RequestId id = 1; id <= 4; ++id) EXPECT_EQ(d.finished(id).timeline.finished, 3 * kStep);
  for (RequestId id = 5; id <= 6; ++id) {
    EXPECT_EQ(d.finished(id).timeline.first_scheduled, 3 * kStep);
    EXPECT_EQ(d.finished(id).timeline.finished, 6 * kStep);
  }
}

TEST(EngineModel, StepTimeComesFromTheCostModelAndGrowsWithTheBatch) {
  auto profile = load_profile(kDefaultProfile);
  ASSERT_TRUE(profile.ok()) << profile.error().message;
  const CostModel cost(*profile);
  auto first_steps = [&](int requests) {
    EngineDriver d(*profile, "fcfs");
    for (int i = 0; i < requests; ++i)
      d.add({.id = static_cast<RequestId>(i + 1), .prompt_tokens = 100, .output_tokens = 2});
    d.run_until_idle();
    EXPECT_EQ(d.durations().size(), 2u);  // one prefill step, one decode step
    return d.durations();
  };
  const std::vector<Seconds> one = first_steps(1);
  const std::vector<Seconds> eight = first_steps(8);
  ASSERT_EQ(one.size(), 2u);
  ASSERT_EQ(eight.size(), 2u);
  BatchShape prefill;
  prefill.add(0, 100);
  BatchShape decode;
  decode.add(100, 1);
  EXPECT_DOUBLE_EQ(one[0], cost.step_seconds(prefill));
  EXPECT_DOUBLE_EQ(one[1], cost.step_seconds(decode));
  // At least one read of 16.38 GB of weights at 1.79 TB/s: 9.1 ms.
  EXPECT_GT(one[1], 0.0091);
  EXPECT_GT(one[0], one[1]);        // 100 prompt tokens cost more than one decode token
  EXPECT_GT(eight[0], one[0]);      // 800 prompt tokens > 100
  EXPECT_GT(eight[1], one[1]);      // 8 decodes > 1
  EXPECT_LT(eight[1], 8 * one[1]);  // but batching shares the weight read
}

// The linear layers take the longer of their weight read and their compute. Tiny profile:
// 2 MB of weights at 1 TB/s = 2 us; 2 x 1 M FLOPs a token at 100 TFLOP/s = 20 ns a token,
// so the two meet at 100 tokens. Attention, KV and the CPU terms are switched off.
TEST(CostModel, LinearLayersTakeTheLongerOfWeightReadAndCompute) {
  Profile p = tiny_profile();
  p.model.attention_heads = 0;
  p.cost = {
      .fixed_ms = 0, .weight_factor = 1, .kv_factor = 0, .compute_factor = 1, .per_request_ms = 0};
  const CostModel cost(p);
  auto step_us = [&](std::int64_t tokens) {
    BatchShape b;
    b.add(0, tokens);
    return cost.step_seconds(b) * 1e6;
  };
  EXPECT_NEAR(step_us(1), 2.0, 1e-9);    // a decode token: the weight read
  EXPECT_NEAR(step_us(64), 2.0, 1e-9);   // still below the crossover: the read hides compute
  EXPECT_NEAR(step_us(100), 2.0, 1e-9);  // the crossover
  EXPECT_NEAR(step_us(200), 4.0, 1e-9);  // a prefill chunk: compute, the read hidden under it
}

// A request spends cost.frontend_ms in the API server before the scheduler sees it: nothing
// runs until then, the idle engine wakes for it, and a request aborted meanwhile leaves
// nothing behind.
TEST(EngineModel, RequestReachesTheSchedulerAfterTheApiServer) {
  Profile p = tiny_profile();
  p.cost.frontend_ms = 10;
  EngineDriver d(p, "fcfs", blocks(64));
  d.add({.id = 1, .prompt_tokens = 20, .output_tokens = 1});
  EXPECT_TRUE(d.engine().has_work());
  EXPECT_EQ(d.engine().num_waiting(), 0);  // not in the engine's queue yet
  EXPECT_FALSE(d.engine().begin_step());
  ASSERT_TRUE(d.engine().next_wakeup());
  EXPECT_DOUBLE_EQ(*d.engine().next_wakeup(), 0.010);
  d.run_until_idle();
  const FinishedRequest f = d.finished(1);
  EXPECT_DOUBLE_EQ(f.timeline.arrival, 0.0);
  EXPECT_DOUBLE_EQ(f.timeline.first_scheduled, 0.010);
  EXPECT_DOUBLE_EQ(f.timeline.first_token, 0.010 + 0.125);  // one 125 ms step

  d.add({.id = 2, .prompt_tokens = 20, .output_tokens = 1});
  EXPECT_TRUE(d.engine().abort_request(2));
  EXPECT_FALSE(d.engine().has_work());
  EXPECT_FALSE(d.engine().next_wakeup());
  EXPECT_FALSE(d.engine().abort_request(2));
}

TEST(EngineModel, WaitingQueueIsServedStrictlyFromTheHead) {
  // 9 blocks: the null block and 8 usable.
  EngineDriver d(tiny_profile(), "fcfs", blocks(9));
  d.add({.id = 1, .prompt_tokens = 64, .output_tokens = 20});  // A
  d.steps(1);                                                  // A: 64 tokens, 4 blocks; 4 free.
  d.add({.id = 2, .prompt_tokens = 80, .output_tokens = 1});   // B: big
  d.add({.id = 3, .prompt_tokens = 16, .output_tokens = 1});   // C: needs one block
  // Step 2: A decodes token 65 and takes its 5th block (3 free). B's chunk is 63 tokens (the
  // budget left): 4 blocks > 3, so B stays at the head, and C, which would fit, waits too.
  d.steps(1);
  EXPECT_EQ(d.engine().num_running(), 1);
  EXPECT_EQ(d.engine().num_waiting(), 2);
  const BackendMetrics m = d.engine().metrics();
  EXPECT_NEAR(m.kv_usage, d.usage_of(6), kUsageTol);  // null + A's 5
  EXPECT_EQ(m.num_running, 1);
  EXPECT_EQ(m.num_waiting, 2);
  EXPECT_EQ(m.num_gpu_blocks, 9);
  EXPECT_EQ(m.block_size, 16);
  EXPECT_DOUBLE_EQ(m.prefix_cache_queries, 64);
  EXPECT_DOUBLE_EQ(m.prefix_cache_hits, 0);
  EXPECT_DOUBLE_EQ(m.num_preemptions, 0);
  // A (output 20) ends after step 20 at 20T = 2.5 (it reaches 6 blocks, never 8). Step 21:
  // B takes 64 tokens, the whole budget. Step 22: B's last 16 and C's 16; both end at 22T.
  d.run_until_idle();
  EXPECT_EQ(d.finish_order(), (std::vector<RequestId>{1, 2, 3}));
  EXPECT_EQ(d.finished(1).timeline.finished, 20 * kStep);
  EXPECT_EQ(d.finished(2).timeline.first_scheduled, 20 * kStep);
  EXPECT_EQ(d.finished(3).timeline.first_scheduled, 21 * kStep);
  EXPECT_EQ(d.finished(3).timeline.waiting_s, 20 * kStep);
  EXPECT_EQ(d.finished(2).timeline.finished, 22 * kStep);
  EXPECT_EQ(d.finished(3).timeline.finished, 22 * kStep);
  EXPECT_NEAR(d.engine().metrics().kv_usage, 1.0 / 9, kUsageTol);
}

// Shared by the fcfs test below and the continuum one (continuum_test.cc has its own copy of
// the timeline): 8 usable blocks, two long decoders that both outgrow 4 blocks.
//   t=0   a0 (program 1, 16 tokens, output 1) registers program 1 first; ends at T.
//   t=T   b  (program 2, 48 tokens, output 40): step 2, 3 blocks.
//   t=2T  a1 (program 1, 48 tokens, output 40): step 3, 3 blocks; b takes its 4th: 1 free.
//   step 4: a1 takes its 4th: 0 free from here on.
// b has computed 48 + (k-2) tokens after step k and needs a 5th block for its 65th token in
// step 19; a1 (48 + (k-3)) would need one in step 20.
TEST(EngineModel, FcfsPreemptsTheNewestRunningRequestAndRecomputesIt) {
  EngineDriver d(tiny_profile(/*max_num_seqs=*/8), "fcfs", blocks(9));
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
  d.steps(8);  // through step 10
  // c (16 tokens, one block) arrives at 10T and waits at the head: no block is free.
  d.add({.id = 30, .program_key = 3, .prompt_tokens = 16, .output_tokens = 1});
  d.steps(8);  // through step 18
  EXPECT_EQ(d.engine().block_pool().num_free(), 0);
  EXPECT_EQ(d.engine().num_waiting(), 1);
  EXPECT_DOUBLE_EQ(d.engine().counters().preemptions, 0);
  // Step 19: b needs a block, none is free: the newest running request, a1, is preempted
  // (its 4 blocks freed last-first: its partial 4th block first, then its prompt blocks
  // 3, 2, 1), b takes that partial block; a1 goes to the FRONT of the waiting queue, ahead
  // of c.
  d.steps(1);
  EXPECT_EQ(d.engine().num_running(), 1);
  EXPECT_EQ(d.engine().num_waiting(), 2);
  EXPECT_DOUBLE_EQ(d.engine().counters().preemptions, 1);
  EXPECT_DOUBLE_EQ(d.engine().metrics().num_preemptions, 1);
  EXPECT_NEAR(d.engine().metrics().kv_usage, d.usage_of(6), kUsageTol);  // null + b's 5
  // a1 now holds 48 prompt + 16 generated = 64 tokens; its 3 prompt blocks are still cached
  // and 3 blocks are free, but it needs 4: it waits, and c, which would fit, waits behind
  // it. b takes a 6th block in step 35 from the head of the free queue: a1's 3rd prompt
  // block. b ends after step 41 (5.125).
  // Step 42: a1 hits its first 2 prompt blocks (32 tokens), recomputes 32 and samples token
  // 17; c gets the 32 tokens of budget left and ends. a1's tokens 18..40 take steps 43..65:
  // it ends at 65T = 8.125 with all 40 tokens.
  d.run_until_idle();
  EXPECT_EQ(d.finish_order(), (std::vector<RequestId>{10, 20, 30, 11}));
  EXPECT_EQ(d.finished(30).timeline.first_scheduled, 41 * kStep);
  EXPECT_EQ(d.finished(30).timeline.finished, 42 * kStep);
  const FinishedRequest b = d.finished(20);
  const FinishedRequest a1 = d.finished(11);
  EXPECT_EQ(b.timeline.finished, 41 * kStep);
  EXPECT_EQ(b.output_tokens, 40);
  EXPECT_EQ(b.timeline.preemptions, 0);
  EXPECT_EQ(a1.timeline.finished, 65 * kStep);
  EXPECT_EQ(a1.output_tokens, 40);
  EXPECT_EQ(a1.timeline.preemptions, 1);
  EXPECT_EQ(a1.timeline.cached_tokens, 0);            // at its first admission
  EXPECT_EQ(a1.timeline.computed_prompt_tokens, 80);  // 48, then 32 recomputed
  EXPECT_EQ(a1.timeline.waiting_s, 23 * kStep);       // preempted at 18T, back at 41T
  const EngineCounters& c = d.engine().counters();
  EXPECT_DOUBLE_EQ(c.prefix_cache_queries, 16 + 48 + 48 + 64 + 16);
  EXPECT_DOUBLE_EQ(c.prefix_cache_hits, 32);
  EXPECT_DOUBLE_EQ(c.generation_tokens, 1 + 40 + 40 + 1);
  EXPECT_DOUBLE_EQ(c.prompt_tokens_computed, 16 + 48 + 48 + 32 + 16);
  EXPECT_NEAR(d.engine().metrics().kv_usage, 1.0 / 9, kUsageTol);
}

TEST(EngineModel, AbortFreesWaitingRunningAndInFlightRequests) {
  EngineDriver d(tiny_profile(), "fcfs", blocks(16));
  d.add({.id = 1, .prompt_tokens = 40, .output_tokens = 5});
  d.add({.id = 2, .prompt_tokens = 40, .output_tokens = 5});
  d.add({.id = 3, .prompt_tokens = 40, .output_tokens = 5});
  // Step 1 schedules 1 (40 tokens, 3 blocks) and a 24-token chunk of 2 (2 blocks); 3 waits.
  ASSERT_TRUE(d.engine().begin_step().has_value());
  EXPECT_NEAR(d.engine().metrics().kv_usage, d.usage_of(6), kUsageTol);
  EXPECT_TRUE(d.engine().abort_request(3));  // waiting: gone at once
  EXPECT_EQ(d.engine().num_waiting(), 0);
  EXPECT_TRUE(d.engine().abort_request(1));  // in the step in flight: removed when it ends
  EXPECT_TRUE(d.engine().abort_request(1));
  EXPECT_FALSE(d.engine().abort_request(99));
  d.clock().advance_to(kStep);
  const StepOutcome out = d.engine().finish_step();
  EXPECT_TRUE(out.finished.empty());
  EXPECT_EQ(d.engine().num_running(), 1);
  EXPECT_NEAR(d.engine().metrics().kv_usage, d.usage_of(3), kUsageTol);  // null + 2's 2 blocks
  EXPECT_FALSE(d.engine().abort_request(1));                             // already removed
  EXPECT_TRUE(d.engine().abort_request(2));  // running, no step in flight
  EXPECT_EQ(d.engine().num_running(), 0);
  EXPECT_FALSE(d.engine().has_work());
  EXPECT_NEAR(d.engine().metrics().kv_usage, 1.0 / 16, kUsageTol);
  for (BlockId b = 1; b < 16; ++b) EXPECT_EQ(d.engine().block_pool().ref_count(b), 0);
  EXPECT_FALSE(d.engine().begin_step().has_value());
}

TEST(EngineModel, TokenEventsReportEveryGeneratedToken) {
  EngineOptions options = blocks(64);
  options.token_events = true;
  EngineDriver d(tiny_profile(), "fcfs", options);
  d.add({.id = 7, .prompt_tokens = 20, .output_tokens = 3});
  d.run_until_idle();
  ASSERT_EQ(d.tokens().size(), 3u);
  for (std::int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(d.tokens()[i].id, 7u);
    EXPECT_EQ(d.tokens()[i].generated, i + 1);
  }
}

}  // namespace
}  // namespace agentsched
