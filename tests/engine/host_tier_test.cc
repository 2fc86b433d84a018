// The host-memory KV tier (docs/host-tier.md): stores of GPU-evicted blocks, loads on a host
// hit, LRU within the host pool, the link shared by concurrent transfers, and nothing changed
// while the tier is off. tiny_profile(): 16-token blocks of 4,096 bytes (256 bytes a token),
// 64 tokens a step, every step T = 0.125 s. The link below moves 131,072 bytes/s: one block
// in T/4, two in T/2.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "engine/engine_test_util.h"
#include "engine/host_kv_tier.h"

namespace agentsched {
namespace {

using testing::blocks;
using testing::EngineDriver;
using testing::kStep;
using testing::prefix_hashes;
using testing::tiny_profile;

constexpr double kTol = 1e-9;
constexpr double kBlockBytes = 4096;
constexpr double kLinkBytesPerS = 131072;

// tiny_profile() with a host tier of `host_blocks` blocks on the link above, no latency.
Profile tiered(std::int64_t host_blocks, double latency_ms = 0) {
  Profile p = tiny_profile();
  p.host.bandwidth_gb_s = kLinkBytesPerS / 1e9;
  p.host.latency_ms = latency_ms;
  p.host.kv_gib = static_cast<double>(host_blocks) * kBlockBytes / (1024.0 * 1024.0 * 1024.0);
  return p;
}

TEST(HostKvPool, EvictsTheLeastRecentlyUsed) {
  HostKvPool pool(2);
  EXPECT_TRUE(pool.store(1));
  EXPECT_TRUE(pool.store(2));
  pool.touch(1);               // order, oldest first: 2, 1
  EXPECT_TRUE(pool.store(3));  // full: 2 goes
  EXPECT_FALSE(pool.contains(2));
  EXPECT_TRUE(pool.contains(1));
  EXPECT_TRUE(pool.contains(3));
  EXPECT_EQ(pool.evictions(), 1);
  EXPECT_FALSE(pool.store(1));  // held: refreshed, nothing moves; order 3, 1
  EXPECT_TRUE(pool.store(4));   // 3 goes
  EXPECT_FALSE(pool.contains(3));
  EXPECT_TRUE(pool.contains(1));
  EXPECT_EQ(pool.size(), 2);
}

TEST(HostLink, ConcurrentTransfersShareTheBandwidth) {
  // 100 bytes/s, 0.5 s latency. Transfer 1 (100 B) starts at 0, alone: 50 B by 0.5 s.
  // Transfer 2 (100 B) starts at 0.5: each now moves 50 B/s, so 1's last 50 B are through at
  // 1.5 (done 2.0); 2 has 50 B left, alone again at 100 B/s: through at 2.0 (done 2.5).
  HostLink link(100, 0.5);
  const auto a = link.start(0.0, 100, true);
  const auto b = link.start(0.5, 100, true);
  EXPECT_NEAR(*link.next_completion(), 1.5, kTol);
  link.advance(1.0);
  EXPECT_FALSE(link.done_at(a).has_value());
  link.advance(1.5);
  ASSERT_TRUE(link.done_at(a).has_value());
  EXPECT_NEAR(*link.done_at(a), 2.0, kTol);
  EXPECT_NEAR(*link.next_completion(), 2.0, kTol);
  link.advance(3.0);
  EXPECT_NEAR(*link.done_at(b), 2.5, kTol);
  EXPECT_NEAR(link.busy_s(), 2.0, kTol);
  EXPECT_NEAR(link.bytes_moved(), 200, 1e-6);
  EXPECT_FALSE(link.next_completion().has_value());
  // Equal transfers started together finish together, at twice the time of one.
  HostLink pair(100, 0);
  const auto c = pair.start(0.0, 100, true);
  const auto d = pair.start(0.0, 100, true);
  pair.advance(5.0);
  EXPECT_NEAR(*pair.done_at(c), 2.0, kTol);
  EXPECT_NEAR(*pair.done_at(d), 2.0, kTol);
}

// A: 40 tokens (blocks 0-1 of content 1, cached after its one step) in blocks 1, 2, 3 of a
// 6-block pool (5 usable); released last first, the free queue is 4, 5, 3, 2, 1. B: 80 tokens
// of content 2 in two steps (64 + 16): step 1 takes 4, 5, 3, 2 and evicts A's block 1
// (in block 2), step 2 takes block 1 and evicts A's block 0.
void run_a_then_b(EngineDriver& d) {
  d.add({.id = 1,
         .prompt_tokens = 40,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(1, 2)});
  d.steps(1);
  d.add({.id = 2,
         .prompt_tokens = 80,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(2, 5)});
}

TEST(HostTier, StoresBlocksTheGpuPoolEvicts) {
  EngineDriver d(tiered(16), "fcfs", blocks(6));
  run_a_then_b(d);
  d.steps(1);  // B's first chunk: one of A's blocks evicted and stored
  EXPECT_EQ(d.engine().counters().host_stores, 1);
  EXPECT_EQ(d.engine().host_blocks_used(), 1);
  d.steps(1);  // B's second chunk: the other
  EXPECT_EQ(d.engine().counters().host_stores, 2);
  EXPECT_EQ(d.engine().host_blocks_used(), 2);
  EXPECT_TRUE(d.is_finished(2));
  // Each store is one block on an idle link: T/4, well inside the step.
  d.engine().on_timer();
  EXPECT_NEAR(d.engine().counters().host_link_bytes, 2 * kBlockBytes, 1e-6);
  EXPECT_NEAR(d.engine().counters().host_link_busy_s, 2 * kStep / 4, kTol);
  // The GPU accounting is vLLM's: the stores change nothing in it.
  EXPECT_NEAR(d.engine().metrics().kv_usage, d.usage_of(1), 1e-12);
}

TEST(HostTier, LoadsAHostHitInsteadOfComputingIt) {
  EngineDriver d(tiered(16), "fcfs", blocks(6));
  run_a_then_b(d);
  d.steps(2);  // B done at 3T; A's two blocks are on the host
  const Seconds t0 = 3 * kStep;
  ASSERT_NEAR(d.now(), t0, kTol);
  // C extends A: 48 tokens, blocks 0-2 of content 1. The GPU holds none of them, the host
  // holds blocks 0 and 1: C takes 2 GPU blocks (1 and 2 in the free queue 1, 2, 3, 5, 4,
  // evicting B's blocks 4 and 3, which are stored) and waits for its 8,192-byte load. The
  // store of B's two blocks (8,192 bytes) starts with it: sharing the link, each moves
  // 65,536 bytes/s and both are through at t0 + T -- not t0 + T/2, as the load alone would be.
  d.add({.id = 3,
         .prompt_tokens = 48,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(1, 3)});
  EXPECT_FALSE(d.engine().begin_step().has_value());  // nothing to compute while it loads
  EXPECT_EQ(d.engine().num_loading(), 1);
  EXPECT_EQ(d.engine().metrics().num_waiting, 1);  // vLLM counts it as waiting
  EXPECT_NEAR(d.engine().metrics().kv_usage, d.usage_of(1 + 2), 1e-12);
  ASSERT_TRUE(d.engine().next_wakeup().has_value());
  EXPECT_NEAR(*d.engine().next_wakeup(), t0 + kStep, kTol);
  d.run_until_idle();
  // Then one step computes the remaining 16 tokens (taking a third block, B's block 2 in
  // block 3, which is stored): first token at t0 + T + T.
  const FinishedRequest c = d.finished(3);
  EXPECT_NEAR(c.timeline.first_token, t0 + kStep + kStep, kTol);
  EXPECT_EQ(c.timeline.cached_tokens, 32);
  EXPECT_EQ(c.timeline.computed_prompt_tokens, 16);
  const EngineCounters& k = d.engine().counters();
  EXPECT_EQ(k.host_loads, 1);
  EXPECT_EQ(k.host_load_blocks, 2);
  EXPECT_EQ(k.host_hit_tokens, 32);
  EXPECT_NEAR(k.host_load_wait_s, kStep, kTol);
  EXPECT_EQ(k.host_stores, 5);        // A's two, then B's three
  EXPECT_EQ(k.prefix_cache_hits, 0);  // vLLM's GPU prefix-cache metric: no GPU hit anywhere
  EXPECT_EQ(k.host_queries, 40 + 80 + 48);
}

TEST(HostTier, KeepsTheMostRecentlyStoredBlocks) {
  // A host pool of one block: A's block 1 is stored first (B's step 1), then block 0 (step 2)
  // pushes it out. C finds block 0 on the host, not block 1: it loads 16 tokens, computes 32.
  EngineDriver d(tiered(1), "fcfs", blocks(6));
  run_a_then_b(d);
  d.steps(2);
  EXPECT_EQ(d.engine().counters().host_evictions, 1);
  d.add({.id = 3,
         .prompt_tokens = 48,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(1, 3)});
  d.run_until_idle();
  const FinishedRequest c = d.finished(3);
  EXPECT_EQ(c.timeline.cached_tokens, 16);
  EXPECT_EQ(c.timeline.computed_prompt_tokens, 32);
  EXPECT_EQ(d.engine().counters().host_load_blocks, 1);
}

TEST(HostTier, LatencyIsAddedToEveryLoad) {
  // As LoadsAHostHit with 31.25 ms of latency per transfer: C's load is done T/4 later.
  // (The latency does not hold the link: the store beside it is through at t0 + T too.)
  EngineDriver d(tiered(16, 31.25), "fcfs", blocks(6));
  run_a_then_b(d);
  d.steps(2);
  const Seconds t0 = d.now();
  d.add({.id = 3,
         .prompt_tokens = 48,
         .output_tokens = 1,
         .prompt_block_hashes = prefix_hashes(1, 3)});
  d.run_until_idle();
  EXPECT_NEAR(d.finished(3).timeline.first_token, t0 + kStep + kStep / 4 + kStep, kTol);
}

// Runs a fixed mix of requests (shared prefixes, preemption under a small pool) and returns
// every finished request's timeline, in finish order.
std::vector<FinishedRequest> run_mix(const Profile& p) {
  EngineDriver d(p, "fcfs", blocks(12));
  for (int i = 0; i < 12; ++i)
    d.add({.id = static_cast<RequestId>(i + 1),
           .prompt_tokens = 40 + 9 * i,
           .output_tokens = 3 + i % 5,
           .prompt_block_hashes = prefix_hashes(static_cast<std::uint64_t>(i % 3 + 1), 2 + i / 4)});
  d.run_until_idle();
  return d.finished();
}

TEST(HostTier, OffChangesNothing) {
  // The link figures alone (kv_gib = 0) change nothing.
  Profile off = tiny_profile();
  off.host.bandwidth_gb_s = 50;
  off.host.latency_ms = 0.1;
  const auto plain = run_mix(tiny_profile());
  const auto linked = run_mix(off);
  ASSERT_EQ(plain.size(), 12u);
  ASSERT_EQ(linked.size(), plain.size());
  for (std::size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(plain[i].id, linked[i].id);
    EXPECT_EQ(plain[i].timeline.first_token, linked[i].timeline.first_token);
    EXPECT_EQ(plain[i].timeline.finished, linked[i].timeline.finished);
    EXPECT_EQ(plain[i].timeline.preemptions, linked[i].timeline.preemptions);
  }
  EngineDriver d(off, "fcfs", blocks(12));
  EXPECT_FALSE(d.engine().host_tier_on());
  EXPECT_EQ(d.engine().host_blocks_capacity(), 0);
}

TEST(HostTier, OnRunsTheMixToTheEnd) {
  const auto tiered_run = run_mix(tiered(8));
  EXPECT_EQ(tiered_run.size(), 12u);
}

// The check against the published figure (docs/host-tier.md): on h100-qwen3-8b, the time to
// first token of a 10,016-token prompt whose first 10,000 tokens are on the host, against the
// same prompt computed from nothing. The pool holds one such prompt (625 blocks): B pushes A
// to the host; A' (A + 16 tokens) loads A back, pushing B to the host; then C (B + 16) loads
// B, evicting A' whose blocks the host already holds -- so C's load has the link to itself.
TEST(HostTier, TtftOfATenThousandTokenPrefixOnTheHost) {
  auto profile = load_profile("h100-qwen3-8b");
  ASSERT_TRUE(profile.ok());
  Profile p = *profile;
  p.host.kv_gib = 16;
  auto run = [&](const Profile& prof, bool warm) {
    EngineDriver d(prof, "fcfs", blocks(627));
    RequestId id = 1;
    if (warm) {
      for (std::uint64_t content : {1, 2}) {
        d.add({.id = id++,
               .prompt_tokens = 10000,
               .output_tokens = 1,
               .prompt_block_hashes = prefix_hashes(content, 625)});
        d.run_until_idle();
      }
      d.add({.id = id++,
             .prompt_tokens = 10016,
             .output_tokens = 1,
             .prompt_block_hashes = prefix_hashes(1, 626)});
      d.run_until_idle();
    }
    // Let the link drain: a second later, C arrives.
    d.clock().advance_to(d.now() + 1.0);
    d.engine().on_timer();
    const Seconds arrival = d.now();
    d.add({.id = 100,
           .prompt_tokens = 10016,
           .output_tokens = 1,
           .prompt_block_hashes = prefix_hashes(2, 626)});
    d.run_until_idle();
    return std::pair{d.finished(100).timeline.first_token - arrival,
                     d.engine().counters().host_load_blocks};
  };
  const auto [from_host, loaded] = run(p, true);
  const auto [recomputed, none] = run(*profile, false);
  EXPECT_EQ(none, 0);
  // 625 blocks = 10,000 tokens x 147,456 bytes = 1.475 GB at 50 GB/s: 29.5 ms + 0.1 ms.
  const double load_s = 10000 * 147456.0 / 50e9 + 1e-4;
  EXPECT_GE(loaded, 2 * 624);  // A' and C (the GPU may keep a leading block of each)
  // The request first spends the profile's API-server time, then waits for its load.
  const double frontend_s = p.cost.frontend_ms / 1e3;
  EXPECT_GT(from_host, frontend_s + 0.99 * load_s);
  EXPECT_LT(from_host, frontend_s + load_s + 0.015);  // + one step over the last 16 tokens
  const double ratio = recomputed / from_host;
  std::printf(
      "h100-qwen3-8b TTFT, 10,016-token prompt: recomputed %.1f ms, prefix from host "
      "%.1f ms (load %.1f ms): %.1fx\n",
      recomputed * 1e3, from_host * 1e3, load_s * 1e3, ratio);
  EXPECT_GE(ratio, 2.0);
  EXPECT_LE(ratio, 22.0);
}

}  // namespace
}  // namespace agentsched
