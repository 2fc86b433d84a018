// ByteBuffer and BufferPool (http/byte_buffer.h): the router's request buffers.
#include "http/byte_buffer.h"

#include <gtest/gtest.h>

#include <string>

namespace agentsched::http {
namespace {

TEST(ByteBuffer, GrowsKeepingUnreadBytesAndReclaimsConsumedSpace) {
  ByteBuffer b(8);
  b.append("abcdef");
  b.consume(4);
  EXPECT_EQ(b.data(), "ef");
  b.reserve_writable(6);  // fits once "ef" moves to the front: no growth
  EXPECT_EQ(b.capacity(), 8u);
  EXPECT_EQ(b.data(), "ef");
  b.append("0123456789");  // grows: at least double, holding what was there
  EXPECT_GE(b.capacity(), 16u);
  EXPECT_EQ(b.data(), "ef0123456789");
}

TEST(BufferPool, RecyclesStandardBuffersAndFreesOnesThatGrew) {
  BufferPool pool(/*buffer_size=*/16, /*max_kept=*/2);
  ByteBuffer small = pool.take();
  EXPECT_EQ(small.capacity(), 16u);
  small.append("hello");
  pool.give(std::move(small));
  ByteBuffer again = pool.take();
  EXPECT_EQ(again.capacity(), 16u);
  EXPECT_TRUE(again.empty());  // handed back cleared

  again.append(std::string(40, 'x'));  // one large request
  ASSERT_GT(again.capacity(), 16u);
  pool.give(std::move(again));
  // The grown buffer was dropped: the next one is standard-sized again, not 40+ bytes.
  EXPECT_EQ(pool.take().capacity(), 16u);
}

TEST(BufferPool, KeepsAtMostMaxKept) {
  BufferPool pool(16, 2);
  ByteBuffer a = pool.take(), b = pool.take(), c = pool.take();
  a.append("a");
  b.append("b");
  c.append("c");
  pool.give(std::move(a));
  pool.give(std::move(b));
  pool.give(std::move(c));  // over max_kept: freed
  EXPECT_TRUE(pool.take().empty());
  EXPECT_TRUE(pool.take().empty());
  EXPECT_EQ(pool.take().capacity(), 16u);  // a fresh one
}

}  // namespace
}  // namespace agentsched::http
