#include "http/upstream.h"

#include <fmt/format.h>

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
