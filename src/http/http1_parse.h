#pragma once
// Allocation-free HTTP/1.1 message-head parsing and chunked-body decoding over bytes a proxy
// already holds in its own buffers. The router relays bodies byte for byte between sockets,
// so it parses heads in place (string_views into the caller's buffer) instead of copying
// every message into a message object. Only what a proxy needs: method, target,
// status, header fields, and the framing (Content-Length, chunked, keep-alive, Expect).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace agentsched::http {

struct HeaderField {
  std::string_view name;   // as sent (compare with iequals)
  std::string_view value;  // leading and trailing blanks removed
};

struct MessageHead {
  // Requests.
  std::string_view method;
  std::string_view target;
  // Responses.
  int status = 0;
  std::string_view reason;

  int version_minor = 1;  // HTTP/1.x
  std::vector<HeaderField> headers;
  std::size_t head_size = 0;  // bytes up to and including the blank line

  // Framing, from the fields above.
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  bool keep_alive = true;  // HTTP/1.1 unless "Connection: close"; 1.0 only with keep-alive
  bool expect_continue = false;

  // The value of the first field named `name` (case-insensitive), or nullopt.
  std::optional<std::string_view> field(std::string_view name) const;
};

enum class ParseResult { kIncomplete, kComplete, kError };

struct HeadLimits {
  std::size_t max_head_bytes = 64 * 1024;
  std::size_t max_fields = 128;
};

// Parses a request head at the start of `bytes`. kIncomplete: more bytes are needed (and
// fewer than max_head_bytes are buffered); kError: `error` says what is wrong. `head` is
// reset first; its views point into `bytes`. A Content-Length together with chunked, an
// unknown Transfer-Encoding, or an invalid Content-Length are errors (request smuggling).
ParseResult parse_request_head(std::string_view bytes, MessageHead& head, std::string_view& error,
                               const HeadLimits& limits = {});
// The same for a response head ("HTTP/1.1 200 OK").
ParseResult parse_response_head(std::string_view bytes, MessageHead& head, std::string_view& error,
                                const HeadLimits& limits = {});

// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b);

// Incremental decoder of a chunked body: feed bytes as they arrive, in any split; the payload
// comes out as views into the bytes fed (no copy). Chunk extensions and trailers are skipped.
class ChunkedDecoder {
 public:
  enum class Status { kMore, kDone, kError };

  // Decodes from `in`, appending payload pieces to `pieces`; returns the bytes consumed
  // (all of `in` unless the body ended inside it). After kDone, bytes past the body are
  // left unconsumed (the next message on a keep-alive connection).
  std::size_t feed(std::string_view in, std::vector<std::string_view>& pieces, Status& status);
  bool done() const { return state_ == State::kDone; }
  void reset() { *this = ChunkedDecoder(); }

 private:
  enum class State {
    kSize,
    kExtension,
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailerStart,
    kTrailerLine,
    kFinalLf,
    kDone,
    kError
  };
  State state_ = State::kSize;
  std::uint64_t size_ = 0;
  int digits_ = 0;
};

}  // namespace agentsched::http
