#include "http/server.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <tuple>
#include <unordered_set>

#include "http/byte_buffer.h"
#include "http/http1_parse.h"
#include "http/listener.h"

namespace agentsched::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto as_tuple_awaitable = asio::as_tuple(use_awaitable);

std::string_view Request::path() const {
  const std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view Request::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return {};
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// RFC 7231 IMF-fixdate, as every HTTP server sends in `date`.
std::string http_date() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

struct Connection {
  explicit Connection(tcp::socket s) : socket(std::move(s)), in(16 * 1024) {}
  tcp::socket socket;
  ByteBuffer in;     // bytes read and not yet parsed (a pipelined request)
  bool idle = true;  // waiting for the next request (may be closed on stop())
};

// Shared by an exchange and its pending readiness wait, which may complete after the
// exchange is gone.
struct DisconnectWatch {
  std::function<void()> callback;
  asio::cancellation_signal cancel;
  bool gone = false;
  bool done = false;
  bool armed = false;
};

void arm_watch(const std::shared_ptr<Connection>& conn, const std::shared_ptr<DisconnectWatch>& w) {
  w->armed = true;
  conn->socket.async_wait(
      tcp::socket::wait_read,
      asio::bind_cancellation_slot(w->cancel.slot(), [conn, w](error_code ec) {
        w->armed = false;
        if (w->done || ec == asio::error::operation_aborted) return;
        if (!ec) {
          // Readable: either bytes of a pipelined request (client still there) or EOF/reset.
          char c;
          const ssize_t r = ::recv(conn->socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
          if (r > 0) return;  // a pipelined request: stop watching, the client is alive
          if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            arm_watch(conn, w);
            return;
          }
        }
        w->gone = true;
        if (w->callback) {
          auto cb = std::move(w->callback);
          w->callback = nullptr;
          cb();
        }
      }));
}

}  // namespace

struct Server::State {
  State(asio::any_io_executor ex, Handler h, ServerOptions o)
      : executor(ex), handler(std::move(h)), options(std::move(o)), listener(ex) {}
  asio::any_io_executor executor;
  Handler handler;
  ServerOptions options;
  Listener listener;  // bind, listen and the accept loop, shared with the router
  bool stopping = false;
  std::unordered_set<std::shared_ptr<Connection>> connections;
  std::size_t active_requests = 0;
};

namespace {

class ExchangeImpl final : public Exchange {
 public:
  ExchangeImpl(Server::State& st, std::shared_ptr<Connection> conn, Request request,
               bool keep_alive)
      : st_(st),
        conn_(std::move(conn)),
        request_(std::move(request)),
        keep_alive_(keep_alive),
        watch_(std::make_shared<DisconnectWatch>()) {}

  ~ExchangeImpl() override { finish_watch(); }

  const Request& request() const override { return request_; }

  awaitable<error_code> respond(Response response) override {
    if (started_) co_return make_error_code(asio::error::already_started);
    started_ = true;
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(response.status), 11};
    set_common(res, response.content_type, response.headers);
    res.body() = std::move(response.body);
    res.prepare_payload();
    auto [ec, n] = co_await bhttp::async_write(conn_->socket, res, as_tuple_awaitable);
    if (ec) failed_ = true;
    complete_ = true;
    co_return ec;
  }

  awaitable<error_code> respond_truncated(Response response, std::size_t body_bytes) override {
    if (started_) co_return make_error_code(asio::error::already_started);
    started_ = true;  // never complete_: the connection closes when the handler returns
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(response.status), 11};
    set_common(res, response.content_type, response.headers);
    res.body() = std::move(response.body);
    res.prepare_payload();
    bhttp::response_serializer<bhttp::string_body> sr{res};
    auto [ec, n] = co_await bhttp::async_write_header(conn_->socket, sr, as_tuple_awaitable);
    const std::string_view body = res.body();
    if (!ec && body_bytes > 0)
      std::tie(ec, n) = co_await asio::async_write(
          conn_->socket, asio::buffer(body.substr(0, std::min(body_bytes, body.size()))),
          as_tuple_awaitable);
    if (ec) failed_ = true;
    co_return ec;
  }

  awaitable<error_code> begin_stream(int status, std::string content_type,
                                     Headers headers) override {
    if (started_) co_return make_error_code(asio::error::already_started);
    started_ = true;
    streaming_ = true;
    bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(status), 11};
    set_common(res, content_type, headers);
    res.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> sr{res};
    auto [ec, n] = co_await bhttp::async_write_header(conn_->socket, sr, as_tuple_awaitable);
    if (ec) failed_ = true;
    co_return ec;
  }

  awaitable<error_code> write(std::string_view data) override {
    if (!streaming_ || complete_) co_return make_error_code(asio::error::not_connected);
    if (failed_) co_return make_error_code(asio::error::broken_pipe);
    if (data.empty()) co_return error_code{};  // an empty chunk would end the body
    std::string chunk = fmt::format("{:x}\r\n", data.size());
    chunk.reserve(chunk.size() + data.size() + 2);
    chunk += data;
    chunk += "\r\n";
    auto [ec, n] =
        co_await asio::async_write(conn_->socket, asio::buffer(chunk), as_tuple_awaitable);
    if (ec) failed_ = true;
    co_return ec;
  }

  awaitable<error_code> end_stream() override {
    if (!streaming_ || complete_) co_return make_error_code(asio::error::not_connected);
    if (failed_) co_return make_error_code(asio::error::broken_pipe);
    static constexpr std::string_view last = "0\r\n\r\n";
    auto [ec, n] =
        co_await asio::async_write(conn_->socket, asio::buffer(last), as_tuple_awaitable);
    if (ec) failed_ = true;
    complete_ = true;
    co_return ec;
  }

  void on_disconnect(std::function<void()> callback) override {
    if (watch_->gone) {
      callback();
      return;
    }
    watch_->callback = std::move(callback);
    if (!watch_->armed) arm_watch(conn_, watch_);
  }

  bool client_gone() const override { return watch_->gone || failed_; }

  void finish_watch() {
    watch_->done = true;
    watch_->callback = nullptr;
    if (watch_->armed) watch_->cancel.emit(asio::cancellation_type::all);
  }

  bool started() const { return started_; }
  bool complete() const { return complete_; }
  bool reusable() const { return complete_ && !failed_ && keep_alive_ && !watch_->gone; }

 private:
  template <class Message>
  void set_common(Message& res, std::string_view content_type, const Headers& extra) {
    res.set(bhttp::field::date, http_date());
    res.set(bhttp::field::server, st_.options.server_name);
    if (!content_type.empty()) res.set(bhttp::field::content_type, content_type);
    for (const auto& [k, v] : extra) res.set(k, v);
    keep_alive_ = keep_alive_ && !st_.stopping;
    res.keep_alive(keep_alive_);
  }

  Server::State& st_;
  std::shared_ptr<Connection> conn_;
  Request request_;
  bool keep_alive_;
  std::shared_ptr<DisconnectWatch> watch_;
  bool started_ = false;
  bool streaming_ = false;
  bool complete_ = false;
  bool failed_ = false;
};

awaitable<void> write_simple(tcp::socket& socket, bhttp::status status, std::string body,
                             const std::string& server_name) {
  bhttp::response<bhttp::string_body> res{status, 11};
  res.set(bhttp::field::server, server_name);
  res.set(bhttp::field::content_type, "application/json");
  res.keep_alive(false);
  res.body() = std::move(body);
  res.prepare_payload();
  co_await bhttp::async_write(socket, res, as_tuple_awaitable);
}

enum class ReadOutcome { kOk, kClosed, kInvalid, kTooLarge };

// Reads one request with the HTTP/1 parser the router uses too (http1_parse.h): the head
// parsed in place, a Content-Length or chunked body read whole, `Expect: 100-continue`
// answered before the body is read (curl sends it for large bodies). Bytes after the request
// (a pipelined one) stay in conn.in.
awaitable<ReadOutcome> read_request(Server::State& st, Connection& conn, Request& request,
                                    bool& keep_alive) {
  const auto read_more = [&conn]() -> awaitable<bool> {
    conn.in.reserve_writable(16 * 1024);
    auto [ec, n] = co_await conn.socket.async_read_some(
        asio::buffer(conn.in.write_ptr(), conn.in.writable()), as_tuple_awaitable);
    if (ec) co_return false;
    conn.in.commit(n);
    co_return true;
  };
  MessageHead head;
  std::string_view err;
  for (;;) {
    // Empty lines before a request line are ignored (RFC 7230 3.5).
    while (!conn.in.empty() && (conn.in.data().front() == '\r' || conn.in.data().front() == '\n'))
      conn.in.consume(1);
    if (!conn.in.empty()) {
      const auto r = parse_request_head(conn.in.data(), head, err);
      if (r == ParseResult::kError) co_return ReadOutcome::kInvalid;
      if (r == ParseResult::kComplete) break;
    }
    if (!co_await read_more()) co_return ReadOutcome::kClosed;
  }
  conn.idle = false;  // Server::stop() now lets the request finish
  const std::size_t head_size = head.head_size;
  bool continue_sent = false;
  const auto send_continue = [&]() -> awaitable<bool> {
    if (!head.expect_continue || continue_sent) co_return true;
    continue_sent = true;
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    auto [ec, n] =
        co_await asio::async_write(conn.socket, asio::buffer(kContinue), as_tuple_awaitable);
    co_return !ec;
  };
  std::size_t total = 0;
  std::string body;
  if (head.chunked) {
    ChunkedDecoder dechunk;
    std::size_t pos = head_size;
    for (;;) {
      std::vector<std::string_view> pieces;
      ChunkedDecoder::Status status;
      pos += dechunk.feed(conn.in.data().substr(pos), pieces, status);
      for (auto p : pieces) body.append(p);
      if (status == ChunkedDecoder::Status::kError) co_return ReadOutcome::kInvalid;
      if (body.size() > st.options.body_limit) co_return ReadOutcome::kTooLarge;
      if (status == ChunkedDecoder::Status::kDone) break;
      if (!co_await send_continue()) co_return ReadOutcome::kClosed;
      // The views in `head` point into conn.in, which may move: keep what is needed.
      if (!co_await read_more()) co_return ReadOutcome::kClosed;
      parse_request_head(conn.in.data(), head, err);
    }
    total = pos;
  } else {
    const std::uint64_t length = head.content_length.value_or(0);
    if (length > st.options.body_limit) co_return ReadOutcome::kTooLarge;
    total = head_size + static_cast<std::size_t>(length);
    while (conn.in.size() < total) {
      if (!co_await send_continue()) co_return ReadOutcome::kClosed;
      if (!co_await read_more()) co_return ReadOutcome::kClosed;
    }
    parse_request_head(conn.in.data(), head, err);  // views into the grown buffer
    body.assign(conn.in.data().substr(head_size, static_cast<std::size_t>(length)));
  }
  request.method = std::string(head.method);
  request.target = std::string(head.target);
  request.headers.reserve(head.headers.size());
  for (const auto& f : head.headers)
    request.headers.emplace_back(lower(f.name), std::string(f.value));
  request.body = std::move(body);
  keep_alive = head.keep_alive;
  conn.in.consume(total);
  co_return ReadOutcome::kOk;
}

awaitable<void> serve_connection(std::shared_ptr<Server::State> st,
                                 std::shared_ptr<Connection> conn) {
  st->connections.insert(conn);
  for (;;) {
    if (st->stopping) break;
    Request request;
    bool keep_alive = true;
    conn->idle = true;
    const ReadOutcome read = co_await read_request(*st, *conn, request, keep_alive);
    conn->idle = false;
    if (read != ReadOutcome::kOk) {
      // Malformed requests get an answer; a closed or reset connection just ends.
      if (read == ReadOutcome::kTooLarge)
        co_await write_simple(conn->socket, bhttp::status::payload_too_large,
                              R"({"detail":"Request body too large"})", st->options.server_name);
      else if (read == ReadOutcome::kInvalid)
        co_await write_simple(conn->socket, bhttp::status::bad_request,
                              R"({"detail":"Invalid HTTP request"})", st->options.server_name);
      break;
    }
    ExchangeImpl exchange(*st, conn, std::move(request), keep_alive);
    ++st->active_requests;
    try {
      co_await st->handler(exchange);
    } catch (const std::exception&) {
      // A handler bug must not take the server down; the client gets a 500 below.
    }
    --st->active_requests;
    exchange.finish_watch();
    if (!exchange.started()) {
      Response r;
      r.status = 500;
      r.body = R"({"detail":"Internal Server Error"})";
      co_await exchange.respond(std::move(r));
    }
    if (!exchange.reusable()) break;
  }
  error_code ignored;
  conn->socket.shutdown(tcp::socket::shutdown_both, ignored);
  conn->socket.close(ignored);
  st->connections.erase(conn);
}

}  // namespace

Server::Server(asio::any_io_executor executor, Handler handler, ServerOptions options)
    : state_(std::make_shared<State>(executor, std::move(handler), std::move(options))) {}

Server::~Server() {
  state_->stopping = true;
  state_->listener.close();
}

Status Server::listen(std::string_view host, std::uint16_t port) {
  return state_->listener.listen(host, port);
}

std::uint16_t Server::port() const {
  return state_->listener.port();
}

void Server::start() {
  // Weak: the listener belongs to the state.
  state_->listener.start([weak = std::weak_ptr<State>(state_)](tcp::socket socket) {
    auto st = weak.lock();
    if (!st || st->stopping) return;
    asio::co_spawn(st->executor,
                   serve_connection(st, std::make_shared<Connection>(std::move(socket))),
                   asio::detached);
  });
}

void Server::stop() {
  state_->stopping = true;
  state_->listener.close();
  error_code ignored;
  for (const auto& conn : state_->connections)
    if (conn->idle) conn->socket.close(ignored);
}

std::size_t Server::num_connections() const {
  return state_->connections.size();
}

std::size_t Server::num_active_requests() const {
  return state_->active_requests;
}

}  // namespace agentsched::http
