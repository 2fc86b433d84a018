// The router's listener and connection manager: client connections on the shared listener
// (http/listener.h), HTTP/1 request heads parsed in place (http/http1_parse.h), bodies read
// whole (Content-Length or chunked), `Expect: 100-continue`, pipelining, error answers with
// a drain before close, and routing: LLM calls to the gateway glue, the router's own
// endpoints to the admin API, anything else straight to a backend.
#include <fmt/format.h>

#include "router/responses.h"
#include "router/router_impl.h"

namespace agentsched::serve {

void Router::Impl::link(Call* c) {
  c->next = &list_head;
  c->prev = list_head.prev;
  list_head.prev->next = c;
  list_head.prev = c;
  c->linked = true;
}

void Router::Impl::unlink(Call* c) {
  if (!c->linked) return;
  c->prev->next = c->next;
  c->next->prev = c->prev;
  c->linked = false;
  c->prev = c->next = nullptr;
}

void Router::Impl::on_socket(tcp::socket socket) {
  if (stopping) return;
  error_code ignored;
  if (conns.size() >= opt.max_connections) {
    ++stats.errors.connection_limit;
    const std::string body = error_body(
        503, fmt::format("the router is at its connection limit ({})", opt.max_connections));
    const std::string response = fmt::format(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
        "content-length: {}\r\nconnection: close\r\n\r\n{}",
        body.size(), body);
    socket.non_blocking(true, ignored);
    socket.send(asio::buffer(response), 0, ignored);
    socket.close(ignored);
    return;
  }
  auto conn = std::make_shared<ClientConn>(std::move(socket), pool.take());
  conn->last_active = steady_now();
  conns.insert(conn);
  read_client(conn);
}

void Router::Impl::read_client(const ConnPtr& c) {
  if (c->reading || c->closed) return;
  // While a request is in progress the read only watches for a hang-up (and keeps a
  // pipelined request); stop when too much is buffered.
  if (c->busy && c->in.size() > opt.max_header_bytes) return;
  c->in.reserve_writable(std::max<std::size_t>(16 * 1024, c->want));
  c->reading = true;
  c->socket.async_read_some(asio::buffer(c->in.write_ptr(), c->in.writable()),
                            [this, c](error_code ec, std::size_t n) {
                              c->reading = false;
                              on_client_read(c, ec, n);
                            });
}

void Router::Impl::on_client_read(const ConnPtr& c, error_code ec, std::size_t n) {
  if (c->closed) return;
  if (ec) {
    client_gone(c);
    return;
  }
  if (c->draining) {
    c->in.clear();
    read_client(c);
    return;
  }
  c->in.commit(n);
  c->last_active = steady_now();
  if (!c->busy) process_client_input(c);
  read_client(c);
}

void Router::Impl::process_client_input(const ConnPtr& c) {
  while (!c->busy && !c->closed && !stopping) {
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
    const auto r = http::parse_request_head(c->in.data(), c->head, err, limits);
    if (r == http::ParseResult::kIncomplete) return;
    if (r == http::ParseResult::kError) {
      ++stats.errors.bad_request;
      const int status =
          err == "request head too large" || err == "too many header fields" ? 431 : 400;
      fail_connection(c, status, fmt::format("invalid HTTP request: {}", err));
      return;
    }
    const std::size_t head_size = c->head.head_size;
    std::size_t total = 0;
    if (c->head.chunked) {
      if (c->dechunk_pos < head_size) c->dechunk_pos = head_size;
      std::vector<std::string_view> pieces;
      http::ChunkedDecoder::Status st;
      c->dechunk_pos += c->dechunk.feed(c->in.data().substr(c->dechunk_pos), pieces, st);
      for (auto p : pieces) c->chunked_body.append(p);
      if (st == http::ChunkedDecoder::Status::kError) {
        ++stats.errors.bad_request;
        fail_connection(c, 400, "invalid chunked request body");
        return;
      }
      if (c->chunked_body.size() > opt.max_body_bytes) {
        ++stats.errors.too_large;
        fail_connection(c, 413,
                        fmt::format("request body larger than {} bytes", opt.max_body_bytes));
        return;
      }
      if (st != http::ChunkedDecoder::Status::kDone) {
        send_continue(c);
        return;
      }
      total = c->dechunk_pos;
    } else {
      const std::uint64_t length = c->head.content_length.value_or(0);
      if (length > opt.max_body_bytes) {
        ++stats.errors.too_large;
        fail_connection(c, 413,
                        fmt::format("request body of {} bytes is larger than the limit of {}",
                                    length, opt.max_body_bytes));
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

void Router::Impl::send_continue(const ConnPtr& c) {
  if (!c->head.expect_continue || c->continue_sent) return;
  c->continue_sent = true;
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  error_code ignored;
  asio::write(c->socket, asio::buffer(kContinue), ignored);
}

// A request that cannot be read further: answer it and close the connection.
void Router::Impl::fail_connection(const ConnPtr& c, int status, std::string message) {
  auto call = std::make_shared<Call>();
  call->client = c;
  call->keep_alive = false;
  call->linger = true;
  c->busy = true;
  c->call = call;
  call->t_arrive = steady_now();
  respond(call, status, error_body(status, message));
}

void Router::Impl::dispatch(const ConnPtr& c, std::size_t total) {
  auto call = std::make_shared<Call>();
  call->client = c;
  call->request = pool.take();
  if (c->reading) {
    // A read into c->in is outstanding (a pipelined request): copy instead of taking the
    // buffer from under it.
    call->request.append(c->in.data().substr(0, total));
    c->in.consume(total);
  } else {
    call->request.swap(c->in);
    if (call->request.size() > total) {
      c->in.append(call->request.data().substr(total));
      call->request.truncate(total);
    }
  }
  c->want = 0;
  std::string_view err;
  http::parse_request_head(call->request.data(), call->head, err, limits);
  if (call->head.chunked) {
    call->owned_body = std::move(c->chunked_body);
    call->body = call->owned_body;
  } else {
    call->body = call->request.data().substr(call->head.head_size);
  }
  c->chunked_body.clear();
  c->dechunk.reset();
  c->dechunk_pos = 0;
  c->pending = false;
  c->continue_sent = false;
  call->keep_alive = call->head.keep_alive && !stopping;
  c->busy = true;
  c->call = call;
  call->t_arrive = steady_now();
  call->arrived = clock->now();
  route(call);
}

// The response is written (or failed): the connection takes its next request or closes.
void Router::Impl::end_exchange(const CallPtr& call, bool write_ok) {
  if (call->request.capacity()) pool.give(std::move(call->request));
  ConnPtr c = std::move(call->client);
  if (!c || c->closed) return;
  c->call.reset();
  if (write_ok && call->linger && !stopping) {
    c->draining = true;
    c->drain_started = steady_now();
    error_code ignored;
    c->socket.shutdown(tcp::socket::shutdown_send, ignored);
    c->in.clear();
    read_client(c);
    return;
  }
  c->busy = false;
  if (!write_ok || !call->keep_alive || stopping) {
    close_client(c);
    return;
  }
  c->last_active = steady_now();
  process_client_input(c);
  read_client(c);
}

void Router::Impl::close_client(const ConnPtr& c) {
  if (c->closed) return;
  c->closed = true;
  error_code ignored;
  c->socket.shutdown(tcp::socket::shutdown_both, ignored);
  c->socket.close(ignored);
  conns.erase(c);
  if (c->in.capacity()) pool.give(std::move(c->in));
  if (stopping) maybe_finish_shutdown();
}

// The client hung up (or its socket failed).
void Router::Impl::client_gone(const ConnPtr& c) {
  CallPtr call = c->call;
  close_client(c);
  if (call && !call->finished) abort_call(call, "client disconnected");
}

// A complete local response.
void Router::Impl::respond(const CallPtr& call, int status, std::string body,
                           std::string_view content_type, std::string_view extra_headers) {
  call->status = status;
  count_response(*call, status);
  const ConnPtr& c = call->client;
  if (!c || c->closed) {
    end_exchange(call, false);
    return;
  }
  format_response(c->out, status, content_type, body, extra_headers, call->keep_alive);
  asio::async_write(c->socket, asio::buffer(c->out),
                    [this, call](error_code ec, std::size_t) { end_exchange(call, !ec); });
}

// A response to a call whose outcome is already recorded (shutdown): always closes.
void Router::Impl::respond_after_finish(const CallPtr& call, std::string body) {
  const ConnPtr& c = call->client;
  if (!c || c->closed) return end_exchange(call, false);
  format_response(c->out, call->status, "application/json", body, {}, false);
  asio::async_write(c->socket, asio::buffer(c->out),
                    [this, call](error_code ec, std::size_t) { end_exchange(call, false); });
}

void Router::Impl::route(const CallPtr& call) {
  const std::string_view target = call->head.target;
  const std::string_view path = target.substr(0, target.find('?'));
  const std::string_view method = call->head.method;
  if (path == "/v1/chat/completions" || path == "/v1/completions") {
    call->route = path == "/v1/completions" ? "completions" : "chat_completions";
    stats.count_request(call->route);
    if (method != "POST") return respond(call, 405, error_body(405, "use POST"));
    gateway_call(call);
    return;
  }
  if (is_admin_path(path)) {
    call->route = "router";
    stats.count_request(call->route);
    LocalResponse r = handle_admin(*this, method, path, call->body,
                                   call->head.field("authorization"), opt.admin_token);
    return respond(call, r.status, std::move(r.body), r.content_type, r.extra_headers);
  }
  // Anything else (GET /v1/models, /tokenize, /version, ...) goes to a backend as is.
  call->route = path == "/v1/models" ? "models" : "other";
  stats.count_request(call->route);
  plain_call(call);
}

// ------------------------------------------------------------------ AdminHost

std::vector<BackendStatus> Router::Impl::backend_statuses() const {
  std::vector<BackendStatus> out;
  out.reserve(backends.size());
  for (const Backend& b : backends) {
    out.push_back(b.status);
    out.back().idle_connections = b.pool.size();
  }
  return out;
}

std::string Router::Impl::metrics_text() {
  return render_metrics(stats, *gw, backend_statuses(), conns.size());
}

std::string Router::Impl::status_text() {
  StatusSettings s;
  s.policy = gw->policy().name();
  s.policy_params = &opt.policy_params;
  s.backend_type = backend_type();
  s.now_s = clock->now();
  s.uptime_real_s = std::chrono::duration<double>(steady_now() - started_real).count();
  s.time_scale = opt.time_scale;
  s.metrics_interval_s = opt.metrics_interval_s;
  s.program_ttl_s = opt.program_ttl_s;
  s.connections = conns.size();
  return status_json(stats, *gw, s);
}

}  // namespace agentsched::serve
