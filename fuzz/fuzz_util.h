#pragma once
// Helpers shared by the libFuzzer targets: a check that aborts with a message
// (libFuzzer saves the input as a crash), deterministic splits of an input for incremental
// parsers, and an in-memory file for readers that take a path.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

namespace agentsched::fuzz {

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// True when `part` lies inside `whole` (an empty view may point anywhere).
inline bool within(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// Cuts `bytes` into pieces whose lengths (1..max_piece) come from a small generator seeded by
// `seed`, so one input is also tried in many splits.
inline std::vector<std::string_view> split(std::string_view bytes, std::uint32_t seed,
                                           std::size_t max_piece = 17) {
  std::vector<std::string_view> pieces;
  std::uint32_t x = seed * 2654435761u + 1;
  while (!bytes.empty()) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    const std::size_t n = std::min<std::size_t>(bytes.size(), 1 + x % max_piece);
    pieces.push_back(bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  return pieces;
}

// The first byte of an input as a seed (and the rest as the payload).
inline std::uint32_t take_seed(std::string_view& bytes) {
  if (bytes.empty()) return 0;
  const auto seed = static_cast<unsigned char>(bytes.front());
  bytes.remove_prefix(1);
  return seed;
}

// An anonymous in-memory file holding `bytes`, reachable by path (/proc/self/fd/N) for the
// readers that open files themselves.
class MemFile {
 public:
  explicit MemFile(std::string_view bytes) {
    fd_ = memfd_create("fuzz", 0);
    if (fd_ < 0) std::abort();
    std::size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::write(fd_, bytes.data() + off, bytes.size() - off);
      if (n <= 0) std::abort();
      off += static_cast<std::size_t>(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace agentsched::fuzz
