// The coroutine server and client against each other on loopback, in one io_context.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>

#include "http/client.h"
#include "http/server.h"
#include "http/sse.h"

namespace agentsched::http {
namespace {

namespace asio = boost::asio;
using asio::awaitable;

// Runs handlers until `done()` holds; bounded so a bug fails the test instead of hanging it.
template <class Pred>
bool run_until(asio::io_context& io, Pred done,
               std::chrono::seconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.run_one_for(std::chrono::milliseconds(50));
  }
  return true;
}

struct Fixture {
  asio::io_context io;
  std::unique_ptr<Server> server;
  bool disconnect_seen = false;
  bool slow_started = false;
  std::unique_ptr<asio::steady_timer> slow_wait;
  std::unique_ptr<asio::steady_timer> handshake;

  Fixture() {
    server =
        std::make_unique<Server>(io.get_executor(), [this](Exchange& ex) { return handle(ex); });
    auto st = server->listen("127.0.0.1", 0);
    EXPECT_TRUE(st.ok());
    server->start();
  }

  awaitable<void> handle(Exchange& ex) {
    const Request& req = ex.request();
    if (req.path() == "/echo") {
      Response r;
      r.content_type = "text/plain";
      r.body =
          req.method + " " + req.target + " " + std::string(req.header("x-test")) + " " + req.body;
      co_await ex.respond(std::move(r));
    } else if (req.path() == "/stream") {
      co_await ex.begin_stream(200, "text/event-stream");
      for (int i = 0; i < 5; ++i) co_await ex.write(sse_event(std::to_string(i)));
      co_await ex.write(kSseDone);
      co_await ex.end_stream();
    } else if (req.path() == "/handshake") {
      // The second event goes out only after the client has seen the first one.
      handshake = std::make_unique<asio::steady_timer>(io, asio::steady_timer::time_point::max());
      co_await ex.begin_stream(200, "text/event-stream");
      co_await ex.write(sse_event("first"));
      co_await handshake->async_wait(asio::as_tuple(asio::use_awaitable));
      co_await ex.write(kSseDone);
      co_await ex.end_stream();
    } else if (req.path() == "/slow") {
      slow_wait = std::make_unique<asio::steady_timer>(io, asio::steady_timer::time_point::max());
      ex.on_disconnect([this] {
        disconnect_seen = true;
        slow_wait->cancel();
      });
      slow_started = true;
      co_await slow_wait->async_wait(asio::as_tuple(asio::use_awaitable));
      if (!ex.client_gone()) co_await ex.respond(Response{});
    } else if (req.path() == "/silent") {
      co_return;  // no response: the server answers 500
    } else {
      Response r;
      r.status = 404;
      r.body = R"({"detail":"Not Found"})";
      co_await ex.respond(std::move(r));
    }
  }
};

TEST(HttpServer, KeepAliveRequestsOnOneConnection) {
  Fixture f;
  std::vector<std::string> bodies;
  std::vector<int> statuses;
  bool finished = false;
  // Built outside the coroutine: GCC 12 rejects braced string-literal pairs inside one.
  const Headers test_headers = {{"X-Test", "yes"}};
  asio::co_spawn(
      f.io,
      [&]() -> awaitable<void> {
        HttpClient c(f.io.get_executor());
        EXPECT_TRUE((co_await c.connect("127.0.0.1", f.server->port())).ok());
        const std::vector<std::string> targets = {"/echo?q=1", "/nope", "/silent", "/echo"};
        for (const std::string& target : targets) {
          if (!c.is_open()) {
            // The 500 after a silent handler closes the connection.
            EXPECT_TRUE((co_await c.connect("127.0.0.1", f.server->port())).ok());
          }
          auto r = co_await c.request("POST", target, "hello", test_headers);
          EXPECT_TRUE(r.ok());
          if (!r.ok()) break;
          statuses.push_back(r->status);
          bodies.push_back(r->body);
        }
        finished = true;
      },
      asio::detached);
  ASSERT_TRUE(run_until(f.io, [&] { return finished; }));
  ASSERT_EQ(statuses, (std::vector<int>{200, 404, 500, 200}));
  EXPECT_EQ(bodies[0], "POST /echo?q=1 yes hello");
  EXPECT_EQ(bodies[1], R"({"detail":"Not Found"})");
}

TEST(HttpServer, ChunkedStreamArrivesAsSseEvents) {
  Fixture f;
  std::vector<std::string> events;
  int status = 0;
  std::string content_type;
  bool finished = false;
  asio::co_spawn(
      f.io,
      [&]() -> awaitable<void> {
        HttpClient c(f.io.get_executor());
        EXPECT_TRUE((co_await c.connect("127.0.0.1", f.server->port())).ok());
        SseParser parser([&](std::string_view d) { events.emplace_back(d); });
        auto r = co_await c.stream("GET", "/stream", "", {},
                                   [&](std::string_view data) { parser.feed(data); });
        EXPECT_TRUE(r.ok());
        if (r.ok()) {
          status = r->status;
          content_type = std::string(r->header("content-type"));
        }
        // The connection stays usable after a chunked response.
        auto again = co_await c.request("GET", "/echo");
        EXPECT_TRUE(again.ok() && again->status == 200);
        finished = true;
      },
      asio::detached);
  ASSERT_TRUE(run_until(f.io, [&] { return finished; }));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(content_type, "text/event-stream");
  EXPECT_EQ(events, (std::vector<std::string>{"0", "1", "2", "3", "4", "[DONE]"}));
}

TEST(HttpClient, StreamDeliversEachPieceAsItArrives) {
  Fixture f;
  std::vector<std::string> events;
  bool finished = false;
  asio::co_spawn(
      f.io,
      [&]() -> awaitable<void> {
        HttpClient c(f.io.get_executor());
        EXPECT_TRUE((co_await c.connect("127.0.0.1", f.server->port())).ok());
        SseParser parser([&](std::string_view d) {
          events.emplace_back(d);
          // Expired rather than cancelled: the server may not be waiting yet (a cancel with
          // no wait pending would be lost; a wait on an expired timer completes at once).
          if (d == "first") f.handshake->expires_at(asio::steady_timer::time_point::min());
        });
        auto r = co_await c.stream("GET", "/handshake", "", {},
                                   [&](std::string_view data) { parser.feed(data); });
        EXPECT_TRUE(r.ok());
        finished = true;
      },
      asio::detached);
  // A client that buffered the body would never see "first" and the server never finish.
  ASSERT_TRUE(run_until(
      f.io, [&] { return finished; }, std::chrono::seconds(5)));
  EXPECT_EQ(events, (std::vector<std::string>{"first", "[DONE]"}));
}

TEST(HttpServer, NoticesClientThatHangsUp) {
  Fixture f;
  asio::ip::tcp::socket raw(f.io);
  raw.connect({asio::ip::make_address("127.0.0.1"), f.server->port()});
  const std::string req = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(raw, asio::buffer(req));
  ASSERT_TRUE(run_until(f.io, [&] { return f.slow_started; }));
  EXPECT_EQ(f.server->num_active_requests(), 1u);
  raw.close();
  ASSERT_TRUE(run_until(f.io, [&] { return f.disconnect_seen; }));
  ASSERT_TRUE(run_until(f.io, [&] { return f.server->num_connections() == 0; }));
  EXPECT_EQ(f.server->num_active_requests(), 0u);
}

TEST(HttpServer, AnswersExpectContinueBeforeTheBody) {
  Fixture f;
  asio::ip::tcp::socket raw(f.io);
  raw.connect({asio::ip::make_address("127.0.0.1"), f.server->port()});
  std::string interim, reply;
  bool done = false;
  asio::co_spawn(
      f.io,
      [&]() -> awaitable<void> {
        const std::string head =
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            "Expect: 100-continue\r\nConnection: close\r\n\r\n";
        co_await asio::async_write(raw, asio::buffer(head), asio::use_awaitable);
        // The body goes out only once the server has said to continue.
        std::string buf;
        auto [ec, n] = co_await asio::async_read_until(raw, asio::dynamic_buffer(buf), "\r\n\r\n",
                                                       asio::as_tuple(asio::use_awaitable));
        interim = buf.substr(0, n);
        buf.erase(0, n);
        const std::string body = "hello";
        co_await asio::async_write(raw, asio::buffer(body), asio::use_awaitable);
        char chunk[512];
        for (;;) {
          auto [rec, got] = co_await raw.async_read_some(asio::buffer(chunk),
                                                         asio::as_tuple(asio::use_awaitable));
          buf.append(chunk, got);
          if (rec) break;
        }
        reply = buf;
        done = true;
      },
      asio::detached);
  ASSERT_TRUE(run_until(
      f.io, [&] { return done; }, std::chrono::seconds(5)));
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("POST /echo  hello"), std::string::npos) << reply;
}

// Everything the server at `port` answered a raw client that sent `bytes`, until it closed
// the connection.
std::string exchange_raw(asio::io_context& io, std::uint16_t port, const std::string& bytes) {
  asio::ip::tcp::socket raw(io);
  raw.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(raw, asio::buffer(bytes));
  std::string reply;
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        char buf[4096];
        for (;;) {
          auto [ec, n] =
              co_await raw.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
          reply.append(buf, n);
          if (ec) break;
        }
        done = true;
      },
      asio::detached);
  EXPECT_TRUE(run_until(
      io, [&] { return done; }, std::chrono::seconds(5)));
  return reply;
}

std::string exchange_raw(Fixture& f, const std::string& bytes) {
  return exchange_raw(f.io, f.server->port(), bytes);
}

// The request reader is the router's HTTP/1 parser (http1_parse.h): a chunked body and a
// pipelined request in the same write, each answered in order.
TEST(HttpServer, ChunkedAndPipelinedRequests) {
  Fixture f;
  const std::string reply = exchange_raw(
      f,
      "\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nX-Test: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"
      "GET /echo?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const auto first = reply.find("POST /echo a hello");
  const auto second = reply.find("GET /echo?q=1  ");
  EXPECT_NE(first, std::string::npos) << reply;
  EXPECT_NE(second, std::string::npos) << reply;
  EXPECT_LT(first, second);
}

// The server engine is the router's (server_core.h): a head over its limit gets 431, the
// error answer arrives whole although the client is still sending.
TEST(HttpServer, HeadOverTheLimitGets431) {
  Fixture f;
  const std::string reply = exchange_raw(
      f, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply.substr(0, 200);
  EXPECT_NE(reply.find("connection: close"), std::string::npos) << reply;
}

TEST(HttpServer, BodyOverTheLimitGets413) {
  asio::io_context io;
  ServerOptions o;
  o.body_limit = 10;
  Server server(
      io.get_executor(), [](Exchange& ex) -> awaitable<void> { co_await ex.respond(Response{}); },
      o);
  ASSERT_TRUE(server.listen("127.0.0.1", 0).ok());
  server.start();
  const std::string reply = exchange_raw(
      io, server.port(), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n0123456789a");
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
  EXPECT_NE(reply.find("Request body too large"), std::string::npos) << reply;
}

TEST(HttpServer, MalformedRequestGets400) {
  Fixture f;
  const std::string reply = exchange_raw(f, "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
}

TEST(HttpServer, StopClosesIdleConnections) {
  Fixture f;
  bool connected = false;
  HttpClient c(f.io.get_executor());
  asio::co_spawn(
      f.io,
      [&]() -> awaitable<void> {
        EXPECT_TRUE((co_await c.connect("127.0.0.1", f.server->port())).ok());
        auto r = co_await c.request("GET", "/echo");
        EXPECT_TRUE(r.ok());
        connected = true;
      },
      asio::detached);
  ASSERT_TRUE(run_until(f.io, [&] { return connected && f.server->num_connections() == 1; }));
  f.server->stop();
  ASSERT_TRUE(run_until(f.io, [&] { return f.server->num_connections() == 0; }));
}

TEST(HttpClient, FetchReportsConnectionRefused) {
  // Bind then close a socket to find a port nobody listens on.
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = a.local_endpoint().port();
  a.close();
  auto r = fetch("127.0.0.1", port, "GET", "/", {}, {}, 5);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("connect"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace agentsched::http
