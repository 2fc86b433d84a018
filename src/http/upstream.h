#pragma once
// The upstream side: keep-alive connections to one backend, pooled, the request head a proxy
// sends on them, and the one response body reader (framing, chunk decoding) of both the
// router's relay and HttpClient (client.h). The router relays on these raw connections (its
// request and response bytes are never parsed into objects or copied); HttpClient is the
// whole-message client for polls, the driver, tools and tests.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/byte_buffer.h"
#include "http/http1_parse.h"

namespace agentsched::http {

// One keep-alive connection to a backend.
struct UpstreamConnection {
  UpstreamConnection(boost::asio::any_io_executor ex, std::size_t backend)
      : socket(ex), backend(backend), in(16 * 1024) {}
  boost::asio::ip::tcp::socket socket;
  std::size_t backend;
  ByteBuffer in;
  std::string head;     // the request head being sent
  bool reused = false;  // taken from the idle pool (may have been closed by the backend)
  void close();
};

// The idle keep-alive connections to one backend, most recently used first out.
class UpstreamPool {
 public:
  explicit UpstreamPool(std::size_t max_idle = 1024) : max_idle_(max_idle) {}
  // An idle connection (reused = true), or nullptr when none is kept.
  std::unique_ptr<UpstreamConnection> take();
  // Keeps `c` for the next request if there is room (it must have nothing unread); closes it
  // otherwise. Returns whether it was kept.
  bool give(std::unique_ptr<UpstreamConnection> c);
  void close_all();
  std::size_t size() const { return idle_.size(); }

 private:
  std::size_t max_idle_;
  std::vector<std::unique_ptr<UpstreamConnection>> idle_;
};

// How a response body is delimited (RFC 7230 3.3.3).
enum class Framing { kNone, kLength, kChunked, kUntilClose };
// From the response head and the request's method (HEAD, 204 and 304 have no body).
Framing response_framing(std::string_view request_method, const MessageHead& response);

// The body of one response as its bytes arrive: the one body reader of the router's relay and
// of HttpClient.
class ResponseBodyReader {
 public:
  enum class Outcome { kMore, kEnd, kBadChunk, kTruncated };
  void reset(Framing framing, std::uint64_t length);
  // The payload in `avail` (views into it) and how many bytes of `avail` it used; `eof`: the
  // peer closed after these bytes.
  Outcome read(std::string_view avail, bool eof, std::vector<std::string_view>& pieces,
               std::size_t& consumed);

 private:
  Framing framing_ = Framing::kNone;
  std::uint64_t left_ = 0;
  ChunkedDecoder dechunk_;
};

// Hop-by-hop fields (RFC 7230 6.1) and the framing a proxy sets itself.
bool is_hop_by_hop(std::string_view name);

// The head a proxy sends upstream for `request`: the same method and target, `host` set to
// `host_header`, the end-to-end fields kept in order, and content-length set to `body_size`
// (written when the body is not empty or the method is POST or PUT).
void build_upstream_head(std::string& out, const MessageHead& request, std::string_view host_header,
                         std::size_t body_size);

}  // namespace agentsched::http
