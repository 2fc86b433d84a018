#include "router/relay.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "http/upstream.h"

namespace agentsched::serve {

ResponsePlan plan_response(std::string_view request_method, const http::MessageHead& rh,
                           bool usage_edited) {
  ResponsePlan p;
  p.framing = http::response_framing(request_method, rh);
  p.body_length = rh.content_length.value_or(0);
  p.upstream_reusable = rh.keep_alive && p.framing != Framing::kUntilClose;
  const auto type = rh.field("content-type");
  p.strip_usage = usage_edited && type && type->substr(0, 17) == "text/event-stream";
  p.client_chunked = p.framing == Framing::kChunked || p.framing == Framing::kUntilClose ||
                     (p.strip_usage && p.framing != Framing::kNone);
  return p;
}

void build_client_head(std::string& h, const http::MessageHead& rh, const ResponsePlan& plan,
                       std::size_t backend, bool keep_alive) {
  h.clear();
  fmt::format_to(std::back_inserter(h), "HTTP/1.1 {} {}\r\n", rh.status, rh.reason);
  for (const auto& f : rh.headers) {
    if (http::is_hop_by_hop(f.name)) continue;
    h.append(f.name).append(": ").append(f.value).append("\r\n");
  }
  if (plan.client_chunked)
    h.append("transfer-encoding: chunked\r\n");
  else if (rh.content_length)
    fmt::format_to(std::back_inserter(h), "content-length: {}\r\n", *rh.content_length);
  fmt::format_to(std::back_inserter(h), "x-agentsched-backend: {}\r\n", backend);
  if (!keep_alive) h.append("connection: close\r\n");
  h.append("\r\n");
}

void client_frames(std::vector<boost::asio::const_buffer>& bufs, std::string_view head,
                   const std::vector<std::string_view>& pieces, bool chunked, bool end,
                   char (&chunk_size)[24]) {
  namespace asio = boost::asio;
  bufs.clear();
  if (!head.empty()) bufs.push_back(asio::buffer(head));
  std::size_t payload = 0;
  for (auto p : pieces) payload += p.size();
  if (payload > 0) {
    if (chunked) {
      const auto r = fmt::format_to_n(chunk_size, sizeof chunk_size - 1, "{:x}\r\n", payload);
      bufs.push_back(asio::buffer(chunk_size, r.size));
    }
    for (auto p : pieces) bufs.push_back(asio::buffer(p));
    if (chunked) bufs.push_back(asio::buffer("\r\n", 2));
  }
  if (end && chunked) bufs.push_back(asio::buffer("0\r\n\r\n", 5));
}

}  // namespace agentsched::serve
