#pragma once
// The relay's decisions, apart from its sockets: how a backend's response is framed, what
// head the client gets, which body bytes of what has arrived go out, and how they are framed
// for the client. Streaming (SSE) and unary responses take the same path; a streamed
// response whose usage chunk the router asked for itself (include_usage added for the
// policy) is re-framed chunked with that chunk dropped.
#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/http1_parse.h"
#include "http/upstream.h"

namespace agentsched::serve {

using http::Framing;

struct ResponsePlan {
  Framing framing = Framing::kNone;
  std::uint64_t body_length = 0;   // Framing::kLength
  bool upstream_reusable = false;  // the backend connection may serve another request
  bool strip_usage = false;        // drop the usage-only SSE event (the client did not ask)
  bool client_chunked = false;     // the client gets transfer-encoding: chunked
};

// `usage_edited`: the router added include_usage to the request.
ResponsePlan plan_response(std::string_view request_method, const http::MessageHead& response,
                           bool usage_edited);

// The response head for the client: the backend's status line and end-to-end fields, the
// client's framing, x-agentsched-backend, and `connection: close` unless keep_alive.
void build_client_head(std::string& out, const http::MessageHead& response,
                       const ResponsePlan& plan, std::size_t backend, bool keep_alive);

// The body reader (framing, chunk decoding) is HttpClient's too.
using BodyReader = http::ResponseBodyReader;

// One gather write for the client: [head] [chunk size] pieces [CRLF] [last chunk].
// `chunk_size` is scratch space that must outlive the write.
void client_frames(std::vector<boost::asio::const_buffer>& bufs, std::string_view head,
                   const std::vector<std::string_view>& pieces, bool chunked, bool end,
                   char (&chunk_size)[24]);

}  // namespace agentsched::serve
