#pragma once
// The one thread pool: runs body(0) ... body(count - 1) on up to `jobs` threads (0: one per
// core; never more threads than items), each index exactly once, in index order of start.
// The calling thread is one of the workers. Used by `sim matrix`, studies and the simulated
// cells of `experiment run`.
#include <cstddef>
#include <functional>

namespace agentsched {

void parallel_for(std::size_t count, int jobs, const std::function<void(std::size_t)>& body);

}  // namespace agentsched
