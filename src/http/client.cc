#include "http/client.h"

#include <fmt/format.h>

#include <boost/asio.hpp>
#include <chrono>

#include "http/byte_buffer.h"
#include "http/http1_parse.h"
#include "http/upstream.h"

namespace agentsched::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;
constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

std::string_view ClientResponse::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return {};
}

struct HttpClient::Impl {
  explicit Impl(asio::any_io_executor ex) : executor(ex), socket(ex), in(16 * 1024) {}
  asio::any_io_executor executor;
  tcp::socket socket;
  ByteBuffer in;  // response bytes read and not yet used
  std::string host;
  std::uint16_t port = 0;

  // The request head, written as the router writes its upstream requests
  // (build_upstream_head): `host`, `user-agent: agentsched`, the caller's fields,
  // content-type application/json for a body without one, content-length.
  std::string make_request(std::string_view method, std::string_view target, std::string_view body,
                           const Headers& headers) {
    MessageHead head;
    head.method = method;
    head.target = target;
    head.headers.push_back({"user-agent", "agentsched"});
    bool has_type = false;
    for (const auto& [k, v] : headers) {
      if (iequals(k, "content-type")) has_type = true;
      head.headers.push_back({k, v});
    }
    if (!body.empty() && !has_type) head.headers.push_back({"content-type", "application/json"});
    std::string out;
    build_upstream_head(out, head, fmt::format("{}:{}", host, port), body.size());
    out += body;
    return out;
  }

  // Sends a request; on error the connection is closed.
  awaitable<Status> send(std::string_view method, std::string_view target, std::string_view body,
                         const Headers& headers) {
    const std::string bytes = make_request(method, target, body, headers);
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes), as_tuple_awaitable);
    if (!ec) co_return Ok{};
    close();
    co_return make_error(fmt::format("send {} {}: {}", method, target, ec.message()));
  }

  void close() {
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    in.clear();
  }

  // Reads more bytes into `in`; the error, eof included.
  awaitable<error_code> read_more() {
    in.reserve_writable(16 * 1024);
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(in.write_ptr(), in.writable()),
                                                   as_tuple_awaitable);
    if (!ec) in.commit(n);
    co_return ec;
  }

  // Reads one response with the router's parser and body reader (http1_parse.h, upstream.h):
  // interim 1xx answers skipped, the body handed to `on_data` piece by piece as it arrives
  // (chunk framing removed). The connection is closed when the response says so or on error.
  awaitable<Result<ClientResponse>> read_response(
      const std::string& method, const std::string& target,
      const std::function<void(std::string_view)>& on_data) {
    const auto fail = [&](std::string_view what, std::string_view why) -> Result<ClientResponse> {
      close();
      return make_error(fmt::format("{} {} {}: {}", what, method, target, why));
    };
    MessageHead head;
    std::string_view err;
    for (;;) {
      const auto r = parse_response_head(in.data(), head, err);
      if (r == ParseResult::kError) co_return fail("read response to", err);
      if (r == ParseResult::kComplete) {
        if (head.status >= 100 && head.status < 200) {
          in.consume(head.head_size);
          continue;
        }
        break;
      }
      if (const error_code ec = co_await read_more())
        co_return fail("read response to",
                       ec == asio::error::eof ? "connection closed" : ec.message());
    }
    ClientResponse out;
    out.status = head.status;
    for (const auto& f : head.headers) {
      std::string name(f.name);
      for (char& c : name)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      out.headers.emplace_back(std::move(name), std::string(f.value));
    }
    const Framing framing = response_framing(method, head);
    const bool keep_alive = head.keep_alive && framing != Framing::kUntilClose;
    ResponseBodyReader body;
    body.reset(framing, head.content_length.value_or(0));
    in.consume(head.head_size);
    std::vector<std::string_view> pieces;
    bool eof = false;
    for (;;) {
      std::size_t used = 0;
      const auto outcome = body.read(in.data(), eof, pieces, used);
      if (outcome == ResponseBodyReader::Outcome::kBadChunk)
        co_return fail("read body of", "invalid chunked encoding");
      if (outcome == ResponseBodyReader::Outcome::kTruncated)
        co_return fail("read body of", "connection closed mid-response");
      for (auto p : pieces)
        if (!p.empty() && on_data) on_data(p);
      in.consume(used);
      if (outcome == ResponseBodyReader::Outcome::kEnd) break;
      if (const error_code ec = co_await read_more()) {
        if (ec != asio::error::eof) co_return fail("read body of", ec.message());
        eof = true;
      }
    }
    if (!keep_alive) close();
    co_return out;
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
  if (auto st = co_await impl_->send(method, target, body, headers); !st) co_return st.error();
  std::string collected;
  auto out = co_await impl_->read_response(
      method, target, [&collected](std::string_view piece) { collected.append(piece); });
  if (out) out->body = std::move(collected);
  co_return out;
}

awaitable<Result<ClientResponse>> HttpClient::do_stream(
    std::string method, std::string target, std::string body, Headers headers,
    std::function<void(std::string_view)> on_data) {
  if (auto st = co_await impl_->send(method, target, body, headers); !st) co_return st.error();
  co_return co_await impl_->read_response(method, target, on_data);
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
