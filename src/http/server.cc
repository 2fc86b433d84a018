#include "http/server.h"

#include <fmt/format.h>

#include <boost/asio.hpp>
#include <ctime>
#include <exception>
#include <iterator>
#include <optional>

#include "http/listener.h"
#include "http/server_core.h"

namespace agentsched::http {

namespace asio = boost::asio;
using asio::awaitable;
constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

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

}  // namespace

struct Server::State {
  State(asio::any_io_executor ex, Handler h, ServerOptions o)
      : executor(ex), handler(std::move(h)), options(std::move(o)), listener(ex) {}
  asio::any_io_executor executor;
  Handler handler;
  ServerOptions options;
  Listener listener;                 // bind, listen and the accept loop, shared with the router
  std::shared_ptr<ServerCore> core;  // the connections: the router's server engine
  std::size_t active_requests = 0;
  // Connections closed by a client that hung up, whose handler is still running: they count
  // as connections until it returns.
  std::size_t hung_up = 0;
};

namespace {

// One request on a ServerCore connection, answered by a coroutine handler.
class ExchangeImpl final : public Exchange {
 public:
  ExchangeImpl(std::shared_ptr<Server::State> st, ServerConnPtr conn, Request request,
               bool keep_alive)
      : st_(std::move(st)),
        conn_(std::move(conn)),
        request_(std::move(request)),
        keep_alive_(keep_alive) {}

  const Request& request() const override { return request_; }

  awaitable<error_code> respond(Response response) override {
    if (started_) co_return make_error_code(asio::error::already_started);
    started_ = true;
    std::string out =
        head(response.status, response.content_type, response.headers, response.body.size());
    out += response.body;
    const error_code ec = co_await send(out);
    complete_ = true;
    co_return ec;
  }

  awaitable<error_code> respond_truncated(Response response, std::size_t body_bytes) override {
    if (started_) co_return make_error_code(asio::error::already_started);
    started_ = true;  // never complete_: the connection closes when the handler returns
    std::string out =
        head(response.status, response.content_type, response.headers, response.body.size());
    out += std::string_view(response.body).substr(0, body_bytes);
    co_return co_await send(out);
  }

  awaitable<error_code> begin_stream(int status, std::string content_type,
                                     Headers headers) override {
    if (started_) co_return make_error_code(asio::error::already_started);
    started_ = true;
    streaming_ = true;
    co_return co_await send(head(status, content_type, headers, std::nullopt));
  }

  awaitable<error_code> write(std::string_view data) override {
    if (!streaming_ || complete_) co_return make_error_code(asio::error::not_connected);
    if (failed_) co_return make_error_code(asio::error::broken_pipe);
    if (data.empty()) co_return error_code{};  // an empty chunk would end the body
    std::string chunk = fmt::format("{:x}\r\n", data.size());
    chunk.reserve(chunk.size() + data.size() + 2);
    chunk += data;
    chunk += "\r\n";
    co_return co_await send(chunk);
  }

  awaitable<error_code> end_stream() override {
    if (!streaming_ || complete_) co_return make_error_code(asio::error::not_connected);
    if (failed_) co_return make_error_code(asio::error::broken_pipe);
    complete_ = true;
    co_return co_await send("0\r\n\r\n");
  }

  void on_disconnect(std::function<void()> callback) override {
    if (gone_)
      callback();
    else if (!done_)
      callback_ = std::move(callback);
  }

  bool client_gone() const override { return gone_ || failed_; }

  // The core saw the client hang up (the connection is closed).
  void hung_up() {
    if (gone_ || done_) return;
    gone_ = true;
    ++st_->hung_up;
    if (!callback_) return;
    auto cb = std::move(callback_);
    callback_ = nullptr;
    cb();
  }

  // Runs the handler, answers 500 if it did not answer, and hands the connection back.
  static awaitable<void> run(std::shared_ptr<ExchangeImpl> self) {
    // The connection holds this exchange for the hang-up notice: let go of it when the
    // coroutine ends, also when it is destroyed unfinished (an io_context torn down).
    struct Release {
      ExchangeImpl& ex;
      ~Release() {
        if (ex.conn_->exchange.get() == static_cast<void*>(&ex)) ex.conn_->exchange.reset();
      }
    } release{*self};
    Server::State& st = *self->st_;
    ++st.active_requests;
    try {
      co_await st.handler(*self);
    } catch (const std::exception&) {
      // A handler bug must not take the server down; the client gets a 500 below.
    }
    --st.active_requests;
    self->done_ = true;
    self->callback_ = nullptr;
    if (!self->started_) {
      Response r;
      r.status = 500;
      r.body = R"({"detail":"Internal Server Error"})";
      co_await self->respond(std::move(r));
    }
    st.core->end_exchange(self->conn_, self->complete_ && !self->failed_, self->keep_alive_);
    if (self->gone_) --st.hung_up;
  }

 private:
  // The response head: date, server, content-type (unless empty), the extra headers, then
  // content-length (or chunked when nullopt) and connection.
  std::string head(int status, std::string_view content_type, const Headers& extra,
                   std::optional<std::size_t> content_length) {
    keep_alive_ = keep_alive_ && !st_->core->stopping();
    std::string fields = fmt::format("date: {}\r\n", http_date());
    for (const auto& [k, v] : extra) fmt::format_to(std::back_inserter(fields), "{}: {}\r\n", k, v);
    std::string out;
    format_response_head(out, st_->options.server_name, status, content_type, content_length,
                         fields, keep_alive_);
    return out;
  }

  awaitable<error_code> send(std::string_view bytes) {
    auto [ec, n] =
        co_await asio::async_write(conn_->socket, asio::buffer(bytes), as_tuple_awaitable);
    if (ec) failed_ = true;
    co_return ec;
  }

  std::shared_ptr<Server::State> st_;
  ServerConnPtr conn_;
  Request request_;
  bool keep_alive_;
  std::function<void()> callback_;  // on_disconnect's
  bool gone_ = false;
  bool done_ = false;  // the handler returned
  bool started_ = false;
  bool streaming_ = false;
  bool complete_ = false;
  bool failed_ = false;
};

}  // namespace

Server::Server(asio::any_io_executor executor, Handler handler, ServerOptions options)
    : state_(std::make_shared<State>(executor, std::move(handler), std::move(options))) {
  ServerCoreOptions core_options;
  core_options.server_name = state_->options.server_name;
  core_options.max_body_bytes = state_->options.body_limit;
  ServerHooks hooks;
  // Weak: the core belongs to the state.
  hooks.on_request = [weak = std::weak_ptr<State>(state_)](ServerRequest r) {
    auto st = weak.lock();
    if (!st) {
      error_code ignored;
      r.conn->socket.close(ignored);
      return;
    }
    Request request;
    request.method = std::string(r.head.method);
    request.target = std::string(r.head.target);
    request.headers.reserve(r.head.headers.size());
    for (const auto& f : r.head.headers)
      request.headers.emplace_back(lower(f.name), std::string(f.value));
    request.body = std::string(r.body());
    st->core->recycle(std::move(r.bytes));
    auto exchange = std::make_shared<ExchangeImpl>(st, r.conn, std::move(request), r.keep_alive);
    r.conn->exchange = exchange;
    asio::co_spawn(st->executor, ExchangeImpl::run(std::move(exchange)), asio::detached);
  };
  hooks.on_hangup = [](std::shared_ptr<void> exchange) {
    std::static_pointer_cast<ExchangeImpl>(exchange)->hung_up();
  };
  hooks.error_body = [](int status, std::string_view) -> std::string {
    if (status == 413) return R"({"detail":"Request body too large"})";
    if (status == 503) return R"({"detail":"Service Unavailable"})";
    return R"({"detail":"Invalid HTTP request"})";
  };
  state_->core = std::make_shared<ServerCore>(executor, std::move(core_options), std::move(hooks));
}

Server::~Server() {
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
  state_->listener.start([weak = std::weak_ptr<State>(state_)](asio::ip::tcp::socket socket) {
    if (auto st = weak.lock()) st->core->adopt(std::move(socket));
  });
}

void Server::stop() {
  state_->listener.close();
  state_->core->stop();
}

std::size_t Server::num_connections() const {
  return state_->core->num_connections() + state_->hung_up;
}

std::size_t Server::num_active_requests() const {
  return state_->active_requests;
}

}  // namespace agentsched::http
