#pragma once
// The reference engine died at concurrency 128 with "Too many open files"
// (docs/reference-study.md 7.2): every live process raises its descriptor limit before it serves.
#include <cstdint>

namespace agentsched::http {

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force.
std::uint64_t raise_fd_limit();

}  // namespace agentsched::http
