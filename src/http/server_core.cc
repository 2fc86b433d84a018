#include "http/server_core.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <iterator>
#include <vector>

namespace agentsched::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

SteadyTime steady_now() {
  return std::chrono::steady_clock::now();
}

double seconds_between(SteadyTime a, SteadyTime b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

void format_response_head(std::string& out, std::string_view server_name, int status,
                          std::string_view content_type, std::optional<std::size_t> content_length,
                          std::string_view extra_headers, bool keep_alive) {
  out.clear();
  auto it = std::back_inserter(out);
  fmt::format_to(it, "HTTP/1.1 {} {}\r\nserver: {}\r\n", status, reason_phrase(status),
                 server_name);
  if (!content_type.empty()) fmt::format_to(it, "content-type: {}\r\n", content_type);
  if (content_length)
    fmt::format_to(it, "content-length: {}\r\n", *content_length);
  else
    out += "transfer-encoding: chunked\r\n";
  fmt::format_to(it, "{}{}\r\n", extra_headers, keep_alive ? "" : "connection: close\r\n");
}

void format_response(std::string& out, std::string_view server_name, int status,
                     std::string_view content_type, std::string_view body,
                     std::string_view extra_headers, bool keep_alive) {
  format_response_head(out, server_name, status, content_type, body.size(), extra_headers,
                       keep_alive);
  out += body;
}

ServerCore::ServerCore(asio::any_io_executor executor, ServerCoreOptions options, ServerHooks hooks)
    : executor_(executor), options_(std::move(options)), hooks_(std::move(hooks)) {}

void ServerCore::stop() {
  stopping_ = true;
  std::vector<ServerConnPtr> idle;
  for (const ServerConnPtr& c : conns_)
    if (!c->busy) idle.push_back(c);
  for (const ServerConnPtr& c : idle) close(c);
}

void ServerCore::close_all() {
  const std::vector<ServerConnPtr> all(conns_.begin(), conns_.end());
  for (const ServerConnPtr& c : all) close(c);
}

void ServerCore::adopt(tcp::socket socket) {
  if (stopping_) return;
  error_code ignored;
  if (options_.max_connections > 0 && conns_.size() >= options_.max_connections) {
    if (hooks_.on_refused) hooks_.on_refused(ServerRefusal::kConnectionLimit, 503);
    std::string response;
    format_response(
        response, options_.server_name, 503, "application/json",
        hooks_.error_body(503, fmt::format("{} is at its connection limit ({})", options_.self_name,
                                           options_.max_connections)),
        {}, false);
    socket.non_blocking(true, ignored);
    socket.send(asio::buffer(response), 0, ignored);
    socket.close(ignored);
    return;
  }
  auto conn = std::make_shared<ServerConnection>(std::move(socket), pool_.take());
  conn->last_active = steady_now();
  conns_.insert(conn);
  read(conn);
}

void ServerCore::read(const ServerConnPtr& c) {
  if (c->reading || c->closed) return;
  // While a request is in progress the read only watches for a hang-up (and keeps a
  // pipelined request); stop when too much is buffered.
  if (c->busy && c->in.size() > options_.head_limits.max_head_bytes) return;
  c->in.reserve_writable(std::max<std::size_t>(16 * 1024, c->want));
  c->reading = true;
  c->socket.async_read_some(asio::buffer(c->in.write_ptr(), c->in.writable()),
                            [self = shared_from_this(), c](error_code ec, std::size_t n) {
                              c->reading = false;
                              self->on_read(c, ec, n);
                            });
}

void ServerCore::on_read(const ServerConnPtr& c, error_code ec, std::size_t n) {
  if (c->closed) return;
  if (ec) {
    hangup(c);
    return;
  }
  if (c->draining) {
    c->in.clear();
    read(c);
    return;
  }
  c->in.commit(n);
  c->last_active = steady_now();
  if (!c->busy) process_input(c);
  read(c);
}

void ServerCore::process_input(const ServerConnPtr& c) {
  while (!c->busy && !c->closed && !stopping_) {
    // Empty lines before a request line are ignored (RFC 7230 3.5).
    while (!c->pending && !c->in.empty() &&
           (c->in.data().front() == '\r' || c->in.data().front() == '\n'))
      c->in.consume(1);
    if (c->in.empty()) return;
    if (!c->pending) {
      c->pending = true;
      c->request_started = steady_now();
    }
    std::string_view err;
    const auto r = parse_request_head(c->in.data(), c->head, err, options_.head_limits);
    if (r == ParseResult::kIncomplete) return;
    if (r == ParseResult::kError) {
      const int status =
          err == "request head too large" || err == "too many header fields" ? 431 : 400;
      refuse(c, ServerRefusal::kBadRequest, status, fmt::format("invalid HTTP request: {}", err));
      return;
    }
    const std::size_t head_size = c->head.head_size;
    std::size_t total = 0;
    if (c->head.chunked) {
      if (c->dechunk_pos < head_size) c->dechunk_pos = head_size;
      std::vector<std::string_view> pieces;
      ChunkedDecoder::Status st;
      c->dechunk_pos += c->dechunk.feed(c->in.data().substr(c->dechunk_pos), pieces, st);
      for (auto p : pieces) c->chunked_body.append(p);
      if (st == ChunkedDecoder::Status::kError) {
        refuse(c, ServerRefusal::kBadRequest, 400, "invalid chunked request body");
        return;
      }
      if (c->chunked_body.size() > options_.max_body_bytes) {
        refuse(c, ServerRefusal::kTooLarge, 413,
               fmt::format("request body larger than {} bytes", options_.max_body_bytes));
        return;
      }
      if (st != ChunkedDecoder::Status::kDone) {
        send_continue(c);
        return;
      }
      total = c->dechunk_pos;
    } else {
      const std::uint64_t length = c->head.content_length.value_or(0);
      if (length > options_.max_body_bytes) {
        refuse(c, ServerRefusal::kTooLarge, 413,
               fmt::format("request body of {} bytes is larger than the limit of {}", length,
                           options_.max_body_bytes));
        return;
      }
      total = head_size + static_cast<std::size_t>(length);
      if (c->in.size() < total) {
        send_continue(c);
        c->want = total - c->in.size();  // the next read can take all of it
        return;
      }
    }
    dispatch(c, total);
  }
}

void ServerCore::send_continue(const ServerConnPtr& c) {
  if (!c->head.expect_continue || c->continue_sent) return;
  c->continue_sent = true;
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  error_code ignored;
  asio::write(c->socket, asio::buffer(kContinue), ignored);
}

// A request that cannot be read further: answer it, then drain what the client still sends
// until it closes, so that the answer is not destroyed by a reset.
void ServerCore::refuse(const ServerConnPtr& c, ServerRefusal why, int status,
                        std::string_view message) {
  if (hooks_.on_refused) hooks_.on_refused(why, status);
  c->busy = true;
  auto out = std::make_shared<std::string>();
  format_response(*out, options_.server_name, status, "application/json",
                  hooks_.error_body(status, message), {}, false);
  asio::async_write(c->socket, asio::buffer(*out),
                    [self = shared_from_this(), c, out](error_code ec, std::size_t) {
                      if (c->closed) return;
                      if (ec || self->stopping_) {
                        self->close(c);
                        return;
                      }
                      c->draining = true;
                      error_code ignored;
                      c->socket.shutdown(tcp::socket::shutdown_send, ignored);
                      c->in.clear();
                      self->read(c);
                      c->drain_deadline = std::make_unique<asio::steady_timer>(
                          self->executor_, std::chrono::seconds(2));
                      c->drain_deadline->async_wait([self, c](error_code ec) {
                        if (!ec) self->close(c);
                      });
                    });
}

void ServerCore::dispatch(const ServerConnPtr& c, std::size_t total) {
  ServerRequest request;
  request.conn = c;
  request.bytes = pool_.take();
  if (c->reading) {
    // A read into c->in is outstanding (a pipelined request): copy instead of taking the
    // buffer from under it.
    request.bytes.append(c->in.data().substr(0, total));
    c->in.consume(total);
  } else {
    request.bytes.swap(c->in);
    if (request.bytes.size() > total) {
      c->in.append(request.bytes.data().substr(total));
      request.bytes.truncate(total);
    }
  }
  c->want = 0;
  std::string_view err;
  parse_request_head(request.bytes.data(), request.head, err, options_.head_limits);
  if (request.head.chunked) request.owned_body = std::move(c->chunked_body);
  c->chunked_body.clear();
  c->dechunk.reset();
  c->dechunk_pos = 0;
  c->pending = false;
  c->continue_sent = false;
  request.keep_alive = request.head.keep_alive && !stopping_;
  c->busy = true;
  hooks_.on_request(std::move(request));
}

void ServerCore::end_exchange(const ServerConnPtr& c, bool write_ok, bool keep_alive) {
  if (c->closed) return;
  c->exchange.reset();
  c->busy = false;
  if (!write_ok || !keep_alive || stopping_) {
    close(c);
    return;
  }
  c->last_active = steady_now();
  process_input(c);
  read(c);
}

void ServerCore::close(const ServerConnPtr& c) {
  if (c->closed) return;
  c->closed = true;
  c->exchange.reset();
  if (c->drain_deadline) c->drain_deadline->cancel();
  error_code ignored;
  c->socket.shutdown(tcp::socket::shutdown_both, ignored);
  c->socket.close(ignored);
  conns_.erase(c);
  if (c->in.capacity()) pool_.give(std::move(c->in));
  if (hooks_.on_closed) hooks_.on_closed();
}

// The client hung up (or its socket failed).
void ServerCore::hangup(const ServerConnPtr& c) {
  std::shared_ptr<void> exchange = std::move(c->exchange);
  close(c);
  if (exchange && hooks_.on_hangup) hooks_.on_hangup(std::move(exchange));
}

void ServerCore::sweep() {
  const SteadyTime now = steady_now();
  const auto past = [](double age, double limit) { return limit > 0 && age > limit; };
  std::vector<ServerConnPtr> expired;
  for (const ServerConnPtr& c : conns_) {
    if (c->busy) continue;
    const double age = seconds_between(c->request_started, now);
    const bool late =
        c->pending && (past(age, options_.body_timeout_s) ||
                       (c->head.head_size == 0 && past(age, options_.header_timeout_s)));
    const bool idle =
        !c->pending && past(seconds_between(c->last_active, now), options_.idle_timeout_s);
    if (late || idle) expired.push_back(c);
  }
  for (const ServerConnPtr& c : expired) {
    if (c->closed) continue;
    if (c->pending)
      refuse(c, ServerRefusal::kTimeout, 408, "the request did not arrive in time");
    else
      close(c);
  }
}

}  // namespace agentsched::http
