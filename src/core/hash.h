#pragma once
// Stable 64-bit hashing of strings (program ids), the same in every process and build.
#include <cstdint>
#include <string_view>

namespace agentsched {

// FNV-1a, then a final mix; never returns 0 (0 means "no program" to the engine).
inline std::uint64_t stable_hash64(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h == 0 ? 1 : h;
}

}  // namespace agentsched
