#include "record/line_reader.h"

#include <cerrno>
#include <cstring>
#include <utility>

namespace agentsched {

Result<LineReader> LineReader::open(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return make_error(path.string() + ": no such file");
  if (std::filesystem::is_directory(path, ec))
    return make_error(path.string() + ": is a directory, not a file");
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return make_error(path.string() + ": cannot open: " + std::strerror(errno));
  // We buffer ourselves; stdio's own buffer would only add a copy.
  std::setvbuf(file, nullptr, _IONBF, 0);
  return LineReader(file);
}

LineReader::LineReader(std::FILE* file) : file_(file), buffer_(kChunkBytes) {}

LineReader::LineReader(LineReader&& other) noexcept {
  *this = std::move(other);
}

LineReader& LineReader::operator=(LineReader&& other) noexcept {
  if (this != &other) {
    if (file_ != nullptr) std::fclose(file_);
    file_ = std::exchange(other.file_, nullptr);
    buffer_ = std::move(other.buffer_);
    begin_ = other.begin_;
    end_ = other.end_;
    line_number_ = other.line_number_;
    bytes_read_ = other.bytes_read_;
    eof_ = other.eof_;
    failed_ = other.failed_;
  }
  return *this;
}

LineReader::~LineReader() {
  if (file_ != nullptr) std::fclose(file_);
}

// Moves the unconsumed tail to the front and reads more behind it, growing the buffer only
// when a single line is longer than it.
bool LineReader::refill() {
  if (eof_ || file_ == nullptr) return false;
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
  const std::size_t got = std::fread(buffer_.data() + end_, 1, buffer_.size() - end_, file_);
  if (got == 0) {
    eof_ = true;
    if (std::ferror(file_)) failed_ = true;
    return false;
  }
  end_ += got;
  return true;
}

bool LineReader::next(std::string_view& line) {
  std::size_t searched_from = begin_;
  for (;;) {
    const char* start = buffer_.data() + begin_;
    const void* newline = std::memchr(buffer_.data() + searched_from, '\n', end_ - searched_from);
    if (newline != nullptr) {
      const auto* nl = static_cast<const char*>(newline);
      std::size_t length = static_cast<std::size_t>(nl - start);
      bytes_read_ += length + 1;
      begin_ += length + 1;
      if (length > 0 && start[length - 1] == '\r') --length;
      line = std::string_view(start, length);
      ++line_number_;
      return true;
    }
    const std::size_t pending = end_ - begin_;
    if (pending >= kMaxLineBytes) {
      bytes_read_ += pending;
      begin_ = end_;
      line = std::string_view(start, pending);
      ++line_number_;
      return true;
    }
    if (!refill()) {
      if (pending == 0) return false;
      // Last line without '\n'.
      const char* tail = buffer_.data() + begin_;
      std::size_t length = end_ - begin_;
      bytes_read_ += length;
      begin_ = end_;
      if (length > 0 && tail[length - 1] == '\r') --length;
      line = std::string_view(tail, length);
      ++line_number_;
      return true;
    }
    searched_from = begin_ + pending;  // refill moved the pending bytes to the front
  }
}

}  // namespace agentsched
