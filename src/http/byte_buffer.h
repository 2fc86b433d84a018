#pragma once
// A growable byte buffer with a read and a write position, for socket I/O without copies:
// reads land at write_ptr(), parsed bytes are consumed from the front. Memory is not zeroed
// on growth (a 40 KB request body is written over at once).
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace agentsched::http {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  explicit ByteBuffer(std::size_t capacity) { grow_to(capacity); }
  ByteBuffer(ByteBuffer&&) noexcept = default;
  ByteBuffer& operator=(ByteBuffer&&) noexcept = default;

  std::string_view data() const { return {buf_.get() + begin_, end_ - begin_}; }
  std::size_t size() const { return end_ - begin_; }
  bool empty() const { return end_ == begin_; }
  std::size_t capacity() const { return cap_; }

  char* write_ptr() { return buf_.get() + end_; }
  std::size_t writable() const { return cap_ - end_; }
  // At least `n` bytes writable at write_ptr() (moves the data to the front or grows).
  void reserve_writable(std::size_t n) {
    if (begin_ == end_) begin_ = end_ = 0;
    if (cap_ - end_ >= n) return;
    if (begin_ > 0 && cap_ - size() >= n) {
      std::memmove(buf_.get(), buf_.get() + begin_, size());
      end_ -= begin_;
      begin_ = 0;
      return;
    }
    grow_to(std::max(cap_ * 2, size() + n));
  }
  void commit(std::size_t n) { end_ += n; }
  // Never moves the bytes nor the write position: a read may be outstanding into
  // write_ptr(). Space is reclaimed by reserve_writable(), called when no read is.
  void consume(std::size_t n) { begin_ += std::min(n, size()); }
  // Keeps the first n readable bytes.
  void truncate(std::size_t n) { end_ = begin_ + std::min(n, size()); }
  void append(std::string_view bytes) {
    reserve_writable(bytes.size());
    if (!bytes.empty()) std::memcpy(write_ptr(), bytes.data(), bytes.size());
    commit(bytes.size());
  }
  void clear() { begin_ = end_ = 0; }
  void swap(ByteBuffer& other) noexcept {
    std::swap(buf_, other.buf_);
    std::swap(cap_, other.cap_);
    std::swap(begin_, other.begin_);
    std::swap(end_, other.end_);
  }

 private:
  void grow_to(std::size_t capacity) {
    std::unique_ptr<char[]> fresh(new char[capacity]);  // uninitialised on purpose
    if (size()) std::memcpy(fresh.get(), buf_.get() + begin_, size());
    end_ = size();
    begin_ = 0;
    buf_ = std::move(fresh);
    cap_ = capacity;
  }

  std::unique_ptr<char[]> buf_;
  std::size_t cap_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

// Recycles request-sized buffers so that a steady stream of calls allocates nothing.
// A buffer that grew past the standard size for one large request is freed, not kept:
// recycled, every buffer would in time ratchet up to the largest request ever seen, and the
// memory held would creep up for as long as the process runs (the soak benchmark saw the
// router grow 11% over 8 minutes at C=256 that way) instead of following the requests in
// flight.
class BufferPool {
 public:
  explicit BufferPool(std::size_t buffer_size = 64 * 1024, std::size_t max_kept = 256)
      : size_(buffer_size), max_kept_(max_kept), max_capacity_(buffer_size) {}
  ByteBuffer take() {
    if (free_.empty()) return ByteBuffer(size_);
    ByteBuffer b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void give(ByteBuffer&& b) {
    if (b.capacity() == 0 || b.capacity() > max_capacity_ || free_.size() >= max_kept_) return;
    b.clear();
    free_.push_back(std::move(b));
  }

 private:
  std::size_t size_;
  std::size_t max_kept_;
  std::size_t max_capacity_;
  std::vector<ByteBuffer> free_;
};

}  // namespace agentsched::http
