// KvBlockPool: the paged KV cache with vLLM V1's prefix cache and LRU free queue
// (docs/reference-study.md section 8). Block 0 is the null block; the free queue starts as
// 1, 2, ...
#include "engine/kv_block_pool.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace agentsched {
namespace {

TEST(KvBlockPool, NullBlockCountsAsUsed) {
  KvBlockPool pool(10);
  // 9 of 10 blocks free: an idle engine reports 1/10.
  EXPECT_EQ(pool.num_blocks(), 10);
  EXPECT_EQ(pool.num_free(), 9);
  EXPECT_DOUBLE_EQ(pool.usage(), 0.1);
  EXPECT_EQ(pool.ref_count(0), 1);
  EXPECT_EQ(pool.num_cached(), 0u);
  EXPECT_THROW(KvBlockPool(1), std::invalid_argument);
}

TEST(KvBlockPool, AllocateAndReleaseInQueueOrder) {
  KvBlockPool pool(5);  // free queue: 1 2 3 4
  EXPECT_EQ(pool.allocate(), 1);
  EXPECT_EQ(pool.allocate(), 2);
  EXPECT_EQ(pool.ref_count(1), 1);
  // null + 2 allocated = 3 of 5 used.
  EXPECT_EQ(pool.num_free(), 2);
  EXPECT_DOUBLE_EQ(pool.usage(), 0.6);
  pool.release({2, 1});  // queue: 3 4 2 1
  EXPECT_EQ(pool.num_free(), 4);
  EXPECT_DOUBLE_EQ(pool.usage(), 0.2);
  EXPECT_EQ(pool.ref_count(1), 0);
  EXPECT_EQ(pool.allocate(), 3);
  EXPECT_EQ(pool.allocate(), 4);
  EXPECT_EQ(pool.allocate(), 2);
  EXPECT_EQ(pool.allocate(), 1);
  EXPECT_EQ(pool.num_free(), 0);
  EXPECT_DOUBLE_EQ(pool.usage(), 1.0);
  EXPECT_EQ(pool.allocate(), kNoBlock);  // nothing free: no block, no change
  EXPECT_EQ(pool.num_free(), 0);
}

TEST(KvBlockPool, PrefixCacheHitsAndCachedFreeBlocksCountAsFree) {
  KvBlockPool pool(10);
  const BlockId b = pool.allocate();  // block 1
  ASSERT_EQ(b, 1);
  EXPECT_EQ(pool.lookup(0xA), kNoBlock);
  pool.cache(b, 0xA);
  EXPECT_EQ(pool.lookup(0xA), b);
  EXPECT_EQ(pool.num_cached(), 1u);
  pool.release({b});
  // Unreferenced but still cached: found by lookup and counted as free (usage back to 1/10).
  EXPECT_EQ(pool.lookup(0xA), b);
  EXPECT_TRUE(pool.is_free(b));
  EXPECT_EQ(pool.num_free(), 9);
  EXPECT_DOUBLE_EQ(pool.usage(), 0.1);
  // A hit takes a reference and pulls the block out of the free queue.
  pool.touch(b);
  EXPECT_FALSE(pool.is_free(b));
  EXPECT_EQ(pool.ref_count(b), 1);
  EXPECT_EQ(pool.num_free(), 8);
  // A second request sharing it: two references, still one block used.
  pool.touch(b);
  EXPECT_EQ(pool.ref_count(b), 2);
  EXPECT_EQ(pool.num_free(), 8);
  pool.release({b});
  EXPECT_EQ(pool.num_free(), 8);
  pool.release({b});
  EXPECT_EQ(pool.num_free(), 9);
  EXPECT_EQ(pool.lookup(0xA), b);
}

TEST(KvBlockPool, LeastRecentlyFreedIsEvictedFirst) {
  KvBlockPool pool(4);  // blocks 1 2 3
  ASSERT_EQ(pool.allocate(), 1);
  ASSERT_EQ(pool.allocate(), 2);
  ASSERT_EQ(pool.allocate(), 3);
  pool.cache(1, 0x11);
  pool.cache(2, 0x22);
  pool.cache(3, 0x33);
  pool.release({2});
  pool.release({3});
  pool.release({1});  // free queue: 2 3 1, all still cached
  EXPECT_EQ(pool.num_cached(), 3u);
  // Block 2 was freed first: it is reused first and loses its cached content.
  EXPECT_EQ(pool.allocate(), 2);
  EXPECT_EQ(pool.lookup(0x22), kNoBlock);
  EXPECT_EQ(pool.lookup(0x33), 3);
  EXPECT_EQ(pool.lookup(0x11), 1);
  EXPECT_EQ(pool.num_cached(), 2u);
  // A hit on 3 takes it out of the middle of the queue; 1 is next.
  pool.touch(3);
  EXPECT_EQ(pool.allocate(), 1);
  EXPECT_EQ(pool.lookup(0x11), kNoBlock);
  EXPECT_EQ(pool.lookup(0x33), 3);
  EXPECT_EQ(pool.allocate(), kNoBlock);
}

TEST(KvBlockPool, ReleaseLastFirstEvictsTheTailBeforeThePrefix) {
  KvBlockPool pool(6);  // blocks 1..5
  // A request holding three full blocks: prefix A, then B, tail C.
  ASSERT_EQ(pool.allocate(), 1);
  ASSERT_EQ(pool.allocate(), 2);
  ASSERT_EQ(pool.allocate(), 3);
  pool.cache(1, 0xA);
  pool.cache(2, 0xB);
  pool.cache(3, 0xC);
  // Freed last-first, as EngineModel does: queue 4 5 | 3 2 1.
  pool.release({3, 2, 1});
  EXPECT_EQ(pool.num_free(), 5);
  // Three allocations take 4, 5 (never cached), then the tail 3; the prefix A, B survives.
  EXPECT_EQ(pool.allocate(), 4);
  EXPECT_EQ(pool.allocate(), 5);
  EXPECT_EQ(pool.allocate(), 3);
  EXPECT_EQ(pool.lookup(0xC), kNoBlock);
  EXPECT_EQ(pool.lookup(0xA), 1);
  EXPECT_EQ(pool.lookup(0xB), 2);
  // One more takes B before A.
  EXPECT_EQ(pool.allocate(), 2);
  EXPECT_EQ(pool.lookup(0xB), kNoBlock);
  EXPECT_EQ(pool.lookup(0xA), 1);
}

TEST(KvBlockPool, CacheOfADuplicateHashKeepsTheFirstCopy) {
  KvBlockPool pool(3);  // blocks 1 2
  ASSERT_EQ(pool.allocate(), 1);
  ASSERT_EQ(pool.allocate(), 2);
  // Two requests computed the same content at the same time: block 1 stays the cached copy.
  pool.cache(1, 0xD);
  pool.cache(2, 0xD);
  EXPECT_EQ(pool.lookup(0xD), 1);
  EXPECT_EQ(pool.num_cached(), 1u);
  // A block keeps its first hash.
  pool.cache(1, 0xE);
  EXPECT_EQ(pool.lookup(0xE), kNoBlock);
  EXPECT_EQ(pool.lookup(0xD), 1);
  pool.release({2});
  pool.release({1});  // queue: 2 1
  // Reusing block 2 (which never held the hash) leaves the cached copy in block 1 alone.
  EXPECT_EQ(pool.allocate(), 2);
  EXPECT_EQ(pool.lookup(0xD), 1);
  // Reusing block 1 drops it.
  EXPECT_EQ(pool.allocate(), 1);
  EXPECT_EQ(pool.lookup(0xD), kNoBlock);
  EXPECT_EQ(pool.num_cached(), 0u);
}

}  // namespace
}  // namespace agentsched
