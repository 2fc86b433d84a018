#include "http/client.h"

#include <fmt/format.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

namespace agentsched::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

std::string_view ClientResponse::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return {};
}

struct HttpClient::Impl {
  explicit Impl(asio::any_io_executor ex) : executor(ex), socket(ex) {}
  asio::any_io_executor executor;
  tcp::socket socket;
  beast::flat_buffer buffer;
  std::string host;
  std::uint16_t port = 0;

  bhttp::request<bhttp::string_body> make_request(std::string& method, std::string& target,
                                                  std::string& body, Headers& headers) {
    bhttp::request<bhttp::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(bhttp::field::host, fmt::format("{}:{}", host, port));
    req.set(bhttp::field::user_agent, "agentsched");
    bool has_type = false;
    for (auto& [k, v] : headers) {
      if (beast::iequals(k, "content-type")) has_type = true;
      req.set(k, v);
    }
    if (!body.empty() && !has_type) req.set(bhttp::field::content_type, "application/json");
    req.keep_alive(true);
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
  }

  template <class Body>
  static void copy_head(const bhttp::response<Body>& res, ClientResponse& out) {
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string name(field.name_string());
      for (char& c : name)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      out.headers.emplace_back(std::move(name), std::string(field.value()));
    }
  }

  void close() {
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    buffer.clear();
  }
};

HttpClient::HttpClient(asio::any_io_executor executor) : impl_(std::make_unique<Impl>(executor)) {}
HttpClient::~HttpClient() = default;

bool HttpClient::is_open() const {
  return impl_->socket.is_open();
}

void HttpClient::close() {
  impl_->close();
}

awaitable<Status> HttpClient::do_connect(std::string host, std::uint16_t port) {
  impl_->close();
  impl_->host = host;
  impl_->port = port;
  tcp::resolver resolver(impl_->executor);
  auto [rec, endpoints] =
      co_await resolver.async_resolve(host, std::to_string(port), as_tuple_awaitable);
  if (rec) co_return make_error(fmt::format("resolve {}: {}", host, rec.message()));
  auto [ec, endpoint] = co_await asio::async_connect(impl_->socket, endpoints, as_tuple_awaitable);
  if (ec) co_return make_error(fmt::format("connect {}:{}: {}", host, port, ec.message()));
  error_code ignored;
  impl_->socket.set_option(tcp::no_delay(true), ignored);
  co_return Ok{};
}

awaitable<Result<ClientResponse>> HttpClient::do_request(std::string method, std::string target,
                                                         std::string body, Headers headers) {
  auto req = impl_->make_request(method, target, body, headers);
  auto [wec, wn] = co_await bhttp::async_write(impl_->socket, req, as_tuple_awaitable);
  if (wec) {
    impl_->close();
    co_return make_error(fmt::format("send {} {}: {}", method, target, wec.message()));
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(boost::none);
  auto [ec, n] =
      co_await bhttp::async_read(impl_->socket, impl_->buffer, parser, as_tuple_awaitable);
  if (ec) {
    impl_->close();
    co_return make_error(fmt::format("read response to {} {}: {}", method, target, ec.message()));
  }
  auto res = parser.release();
  ClientResponse out;
  Impl::copy_head(res, out);
  out.body = std::move(res.body());
  if (!res.keep_alive()) impl_->close();
  co_return out;
}

awaitable<Result<ClientResponse>> HttpClient::do_stream(
    std::string method, std::string target, std::string body, Headers headers,
    std::function<void(std::string_view)> on_data) {
  auto req = impl_->make_request(method, target, body, headers);
  auto [wec, wn] = co_await bhttp::async_write(impl_->socket, req, as_tuple_awaitable);
  if (wec) {
    impl_->close();
    co_return make_error(fmt::format("send {} {}: {}", method, target, wec.message()));
  }
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(boost::none);
  auto [hec, hn] =
      co_await bhttp::async_read_header(impl_->socket, impl_->buffer, parser, as_tuple_awaitable);
  if (hec) {
    impl_->close();
    co_return make_error(fmt::format("read response to {} {}: {}", method, target, hec.message()));
  }
  ClientResponse out;
  Impl::copy_head(parser.get(), out);
  char chunk[16384];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    // read_some, not read: read would wait until the buffer is full, holding back tokens.
    auto [ec, n] =
        co_await bhttp::async_read_some(impl_->socket, impl_->buffer, parser, as_tuple_awaitable);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      impl_->close();
      co_return make_error(fmt::format("read body of {} {}: {}", method, target, ec.message()));
    }
    const std::size_t got = sizeof chunk - parser.get().body().size;
    if (got > 0 && on_data) on_data(std::string_view(chunk, got));
  }
  if (!parser.get().keep_alive()) impl_->close();
  co_return out;
}

Result<ClientResponse> fetch(std::string_view host, std::uint16_t port, std::string_view method,
                             std::string_view target, std::string_view body, const Headers& headers,
                             double timeout_s) {
  asio::io_context io;
  std::optional<Result<ClientResponse>> result;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        HttpClient client(io.get_executor());
        if (auto st = co_await client.connect(std::string(host), port); !st) {
          result.emplace(st.error());
          co_return;
        }
        result.emplace(co_await client.request(std::string(method), std::string(target),
                                               std::string(body), headers));
      },
      asio::detached);
  io.run_for(std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(timeout_s)));
  if (!result)
    return make_error(fmt::format("{} {} on {}:{}: no answer within {} s", method, target, host,
                                  port, timeout_s));
  return std::move(*result);
}

}  // namespace agentsched::http
