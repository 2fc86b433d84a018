// The one thread pool (core/parallel.h).
#include "core/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace agentsched {
namespace {

TEST(ParallelFor, RunsEveryIndexExactlyOnce) {
  for (int jobs : {0, 1, 3, 64}) {
    std::vector<std::atomic<int>> hits(50);
    parallel_for(hits.size(), jobs, [&](std::size_t i) { ++hits[i]; });
    for (std::size_t i = 0; i < hits.size(); ++i) EXPECT_EQ(hits[i].load(), 1) << jobs << " " << i;
  }
  bool called = false;
  parallel_for(0, 4, [&](std::size_t) { called = true; });
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace agentsched
