#pragma once
// Streams a text file line by line through one fixed buffer (1 MiB reads), so multi-gigabyte
// logs are scanned without loading them: memory stays at the buffer plus the longest line.
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace agentsched {

class LineReader {
 public:
  static constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
  // A "line" longer than this (a binary or corrupted file) is returned in pieces of this size
  // rather than growing the buffer without bound.
  static constexpr std::size_t kMaxLineBytes = std::size_t{64} << 20;

  // Fails with a message naming the path when the file cannot be opened.
  static Result<LineReader> open(const std::filesystem::path& path);

  LineReader(LineReader&& other) noexcept;
  LineReader& operator=(LineReader&& other) noexcept;
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  ~LineReader();

  // Next line without its '\n' (and without a trailing '\r'); the view stays valid until the
  // next call. A last line without '\n' is returned too. False at end of file.
  bool next(std::string_view& line);

  // 1-based number of the line last returned.
  std::size_t line_number() const { return line_number_; }
  // Bytes consumed so far.
  std::size_t bytes_read() const { return bytes_read_; }
  // True when a read error (not end of file) stopped the scan.
  bool failed() const { return failed_; }

 private:
  explicit LineReader(std::FILE* file);
  bool refill();

  std::FILE* file_ = nullptr;
  std::vector<char> buffer_;
  std::size_t begin_ = 0;  // start of unconsumed bytes
  std::size_t end_ = 0;    // end of valid bytes
  std::size_t line_number_ = 0;
  std::size_t bytes_read_ = 0;
  bool eof_ = false;
  bool failed_ = false;
};

}  // namespace agentsched
