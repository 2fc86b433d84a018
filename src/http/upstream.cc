#include "http/upstream.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <iterator>

namespace agentsched::http {

void UpstreamConnection::close() {
  boost::system::error_code ignored;
  socket.close(ignored);
}

std::unique_ptr<UpstreamConnection> UpstreamPool::take() {
  if (idle_.empty()) return nullptr;
  auto c = std::move(idle_.back());
  idle_.pop_back();
  c->reused = true;
  return c;
}

bool UpstreamPool::give(std::unique_ptr<UpstreamConnection> c) {
  if (!c) return false;
  if (idle_.size() >= max_idle_ || !c->in.empty()) {
    c->close();
    return false;
  }
  c->reused = false;
  idle_.push_back(std::move(c));
  return true;
}

void UpstreamPool::close_all() {
  for (auto& c : idle_) c->close();
  idle_.clear();
}

Framing response_framing(std::string_view request_method, const MessageHead& rh) {
  if (request_method == "HEAD" || rh.status == 204 || rh.status == 304) return Framing::kNone;
  if (rh.chunked) return Framing::kChunked;
  if (rh.content_length) return Framing::kLength;
  return Framing::kUntilClose;
}

void ResponseBodyReader::reset(Framing framing, std::uint64_t length) {
  framing_ = framing;
  left_ = length;
  dechunk_.reset();
}

ResponseBodyReader::Outcome ResponseBodyReader::read(std::string_view avail, bool eof,
                                                     std::vector<std::string_view>& pieces,
                                                     std::size_t& consumed) {
  pieces.clear();
  consumed = 0;
  bool end = false;
  switch (framing_) {
    case Framing::kNone:
      end = true;
      break;
    case Framing::kLength: {
      const std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>(left_, avail.size()));
      if (take) pieces.push_back(avail.substr(0, take));
      left_ -= take;
      consumed = take;
      end = left_ == 0;
      break;
    }
    case Framing::kChunked: {
      ChunkedDecoder::Status st;
      consumed = dechunk_.feed(avail, pieces, st);
      if (st == ChunkedDecoder::Status::kError) return Outcome::kBadChunk;
      end = st == ChunkedDecoder::Status::kDone;
      break;
    }
    case Framing::kUntilClose:
      if (!avail.empty()) pieces.push_back(avail);
      consumed = avail.size();
      end = eof;
      break;
  }
  if (eof && !end) return Outcome::kTruncated;
  return end ? Outcome::kEnd : Outcome::kMore;
}

bool is_hop_by_hop(std::string_view name) {
  return iequals(name, "connection") || iequals(name, "keep-alive") ||
         iequals(name, "proxy-connection") || iequals(name, "te") || iequals(name, "trailer") ||
         iequals(name, "transfer-encoding") || iequals(name, "upgrade") ||
         iequals(name, "content-length") || iequals(name, "expect") || iequals(name, "host");
}

void build_upstream_head(std::string& h, const MessageHead& request, std::string_view host_header,
                         std::size_t body_size) {
  h.clear();
  h.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\nhost: ");
  h.append(host_header).append("\r\n");
  for (const auto& f : request.headers) {
    if (is_hop_by_hop(f.name)) continue;
    h.append(f.name).append(": ").append(f.value).append("\r\n");
  }
  if (body_size > 0 || request.method == "POST" || request.method == "PUT")
    fmt::format_to(std::back_inserter(h), "content-length: {}\r\n", body_size);
  h.append("\r\n");
}

}  // namespace agentsched::http
