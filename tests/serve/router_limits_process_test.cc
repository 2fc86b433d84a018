// `agentsched router` as a real process, its connection limits: slow-loris clients, idle
// keep-alive connections, the connection limit, and oversized heads and bodies.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "serve/router_test_util.h"

namespace agentsched::serve {
namespace {

using namespace agentsched::testing;
namespace json = boost::json;

// ------------------------------------------------------------------ limits

TEST(RouterProcess, LimitsAnswerWithOpenAiErrors) {
  auto engine = start_engine();
  auto router = start_router({engine->url()}, {"--max-body-bytes", "1000", "--header-timeout",
                                               "0.3", "--max-connections", "3"});
  ASSERT_GT(router->port(), 0);
  auto r = call(router->port(), "POST", "/v1/chat/completions",
                chat_body("", 4, R"("pad":")" + std::string(2000, 'x') + "\""));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("\"error\":{\"message\":\"request body of"), std::string::npos) << r->body;

  RawSocket slow(router->port());
  ASSERT_TRUE(slow.send_all("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"));
  const std::string answer = slow.read_until("\r\n\r\n", 5s);
  EXPECT_NE(answer.find("HTTP/1.1 408"), std::string::npos) << answer;

  EXPECT_EQ(call(router->port(), "DELETE", "/v1/chat/completions")->status, 405);
  slow.close();
  // Only the connection asking for the gauge is left open.
  ASSERT_TRUE(wait_until([&] {
    return metric_value(router_metrics(router->port()), "agentsched_router_connections") == 1;
  }));
  RawSocket a(router->port()), b(router->port()), c(router->port()), d(router->port());
  const std::string refused = d.read_until("}}", 5s);
  EXPECT_NE(refused.find("HTTP/1.1 503"), std::string::npos) << refused;
  EXPECT_NE(refused.find("connection limit"), std::string::npos) << refused;
}

// Connections that send a request head one byte at a time, all from one thread: a byte on
// every connection still waiting, then up to `gap` for answers. Each stops when the router
// answers or closes it, or when the whole head has gone out.
class SlowLoris {
 public:
  SlowLoris(int port, int connections, std::string head) : head_(std::move(head)) {
    for (int i = 0; i < connections; ++i) conns_.push_back(std::make_unique<Conn>(port));
    for (const auto& c : conns_) waiting_ += c->stopped ? 0 : 1;
  }
  // Runs until every connection stopped or `limit` passed.
  void run(std::chrono::milliseconds gap, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (waiting() > 0 && std::chrono::steady_clock::now() < deadline) {
      for (auto& c : conns_) {
        if (c->stopped) continue;
        if (c->sent == head_.size() || !c->send_byte(head_[c->sent])) {
          stop(*c);
          continue;
        }
        ++c->sent;
        ++bytes_sent_;
      }
      std::vector<pollfd> fds;
      std::vector<Conn*> polled;
      for (auto& c : conns_)
        if (!c->stopped) {
          fds.push_back({c->fd, POLLIN, 0});
          polled.push_back(c.get());
        }
      if (fds.empty() || poll(fds.data(), fds.size(), static_cast<int>(gap.count())) <= 0) continue;
      for (std::size_t i = 0; i < fds.size(); ++i)
        if (fds[i].revents != 0) {
          polled[i]->read_answer();
          stop(*polled[i]);
        }
    }
  }
  int waiting() const { return waiting_; }
  int answered() const { return static_cast<int>(conns_.size()) - waiting_; }
  std::size_t bytes_sent() const { return bytes_sent_; }
  // After run() returned.
  const std::string& answer(std::size_t i) const { return conns_[i]->answer; }
  std::size_t sent(std::size_t i) const { return conns_[i]->sent; }
  std::size_t size() const { return conns_.size(); }

 private:
  struct Conn {
    explicit Conn(int port) : fd(::socket(AF_INET, SOCK_STREAM, 0)) {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<std::uint16_t>(port));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) stopped = true;
    }
    ~Conn() { ::close(fd); }
    bool send_byte(char c) { return ::send(fd, &c, 1, MSG_NOSIGNAL) == 1; }
    // What the router sent (its answer head at least), up to EOF or 2 s.
    void read_answer() {
      const auto deadline = std::chrono::steady_clock::now() + 2s;
      while (answer.find("\r\n\r\n") == std::string::npos &&
             std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        char buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        answer.append(buf, static_cast<std::size_t>(n));
      }
    }
    int fd;
    std::size_t sent = 0;
    bool stopped = false;
    std::string answer;
  };
  void stop(Conn& c) {
    c.stopped = true;
    --waiting_;
  }
  std::string head_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::atomic<int> waiting_{0};
  std::atomic<std::size_t> bytes_sent_{0};
};

// A request head far longer than a slow-loris client can send before any header timeout.
std::string long_head() {
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(4000, 'p') +
         "\r\nContent-Length: 2\r\n\r\n{}";
}

TEST(RouterProcess, SlowLorisIsCutOffWhileOtherClientsAreServed) {
  auto engine = start_engine();
  auto router = start_router({engine->url()}, {"--header-timeout", "0.5"});
  const int port = router->port();
  ASSERT_GT(port, 0);
  SlowLoris loris(port, 1, long_head());
  std::thread slow([&] { loris.run(20ms, 60s); });
  // While it trickles in, another connection is served as usual.
  ASSERT_TRUE(wait_until([&] { return loris.bytes_sent() >= 3; }));
  auto r = call(port, "POST", "/v1/chat/completions", chat_body(R"("job_id":"normal")"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(call(port, "GET", "/health")->status, 200);
  slow.join();
  // The slow client got a 408 in OpenAI's shape before its head was complete.
  EXPECT_NE(loris.answer(0).find("HTTP/1.1 408"), std::string::npos) << loris.answer(0);
  EXPECT_LT(loris.sent(0), long_head().size());
  EXPECT_GE(metric_value(router_metrics(port), R"(agentsched_router_errors_total{kind="timeout"})"),
            1);
  RawSocket s(port);
  ASSERT_TRUE(s.send_all(long_head().substr(0, 60)));
  const std::string got = s.read_until("}}");
  EXPECT_NE(got.find("HTTP/1.1 408"), std::string::npos) << got;
  EXPECT_NE(got.find(R"({"error":{"message":"the request did not arrive in time")"),
            std::string::npos)
      << got;
}

TEST(RouterProcess, HundredSlowLorisConnectionsDoNotStopService) {
  auto engine = start_engine();
  auto router = start_router({engine->url()}, {"--header-timeout", "5"});
  const int port = router->port();
  ASSERT_GT(port, 0);
  SlowLoris loris(port, 100, long_head());
  std::thread slow([&] { loris.run(20ms, 120s); });
  // Once the router holds all of them (and the connection asking), normal calls go through.
  ASSERT_TRUE(wait_until(
      [&] { return metric_value(router_metrics(port), "agentsched_router_connections") >= 101; },
      30s));
  int served_while_all_waiting = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = call(port, "POST", "/v1/chat/completions",
                  chat_body(R"("job_id":"busy:)" + std::to_string(i) + "\""));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    if (loris.answered() == 0) ++served_while_all_waiting;
  }
  EXPECT_GT(served_while_all_waiting, 0) << "the slow clients were cut before any call ended";
  slow.join();
  // Then every slow client is cut off with a 408 (none sent its whole head).
  for (std::size_t i = 0; i < loris.size(); ++i) {
    EXPECT_NE(loris.answer(i).find("HTTP/1.1 408"), std::string::npos) << i << loris.answer(i);
    EXPECT_LT(loris.sent(i), long_head().size()) << i;
  }
  EXPECT_TRUE(wait_until(
      [&] { return metric_value(router_metrics(port), "agentsched_router_connections") == 1; }));
  EXPECT_EQ(call(port, "GET", "/health")->status, 200);
}

TEST(RouterProcess, IdleKeepAliveConnectionsAreClosed) {
  auto engine = start_engine();
  auto router = start_router({engine->url()}, {"--idle-timeout", "0.5"});
  const int port = router->port();
  ASSERT_GT(port, 0);
  RawSocket idle(port);
  ASSERT_TRUE(idle.send_all("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string first = idle.read_until("\"backends\":1}");
  EXPECT_NE(first.find("HTTP/1.1 200"), std::string::npos) << first;
  EXPECT_EQ(first.find("connection: close"), std::string::npos) << first;  // kept alive
  // The router closes it once idle (read_until returns at EOF with nothing more).
  EXPECT_EQ(idle.read_until("never", 30s), "");
  EXPECT_TRUE(wait_until(
      [&] { return metric_value(router_metrics(port), "agentsched_router_connections") == 1; }));
}

TEST(RouterProcess, ConnectionLimitAnswers503AndServesAgainOnceOneCloses) {
  auto engine = start_engine();
  auto router = start_router({engine->url()}, {"--max-connections", "2"});
  const int port = router->port();
  ASSERT_GT(port, 0);
  const std::string health = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  // Two connections the router has accepted (each answered once, kept alive).
  auto a = std::make_unique<RawSocket>(port);
  RawSocket b(port);
  for (RawSocket* s : {a.get(), &b}) {
    ASSERT_TRUE(s->send_all(health));
    const std::string got = s->read_until("\"backends\":1}");
    ASSERT_NE(got.find("HTTP/1.1 200"), std::string::npos) << got;
  }
  RawSocket c(port);
  const std::string refused = c.read_until("}}");
  EXPECT_NE(refused.find("HTTP/1.1 503"), std::string::npos) << refused;
  EXPECT_NE(refused.find("connection: close"), std::string::npos) << refused;
  const auto body = refused.substr(refused.find("\r\n\r\n") + 4);
  const json::value error = json::parse(body);
  EXPECT_EQ(error.at("error").at("type").as_string(), "service_unavailable") << body;
  EXPECT_NE(std::string(error.at("error").at("message").as_string()).find("connection limit (2)"),
            std::string::npos)
      << body;
  // Once one closes, a new connection is served again (after the router noticed).
  a.reset();
  EXPECT_TRUE(wait_until([&] {
    RawSocket d(port);
    return d.send_all(health) && d.read_until("}", 5s).find("HTTP/1.1 200") != std::string::npos;
  }));
  // The one kept open is still served too.
  ASSERT_TRUE(b.send_all(health));
  EXPECT_NE(b.read_until("\"backends\":1}").find("HTTP/1.1 200"), std::string::npos);
}

TEST(RouterProcess, OversizedHeadAndBodyAnswer431And413) {
  auto engine = start_engine();
  auto router =
      start_router({engine->url()}, {"--max-header-bytes", "2048", "--max-body-bytes", "1000"});
  const int port = router->port();
  ASSERT_GT(port, 0);
  const auto expect_error = [&](const std::string& request, const std::string& status) {
    RawSocket s(port);
    ASSERT_TRUE(s.send_all(request));
    const std::string got = s.read_until("}}");
    EXPECT_EQ(got.rfind("HTTP/1.1 " + status, 0), 0u) << got;
    EXPECT_NE(got.find("connection: close"), std::string::npos) << got;
    const auto at = got.find("\r\n\r\n");
    ASSERT_NE(at, std::string::npos) << got;
    const json::value body = json::parse(got.substr(at + 4));
    EXPECT_EQ(body.at("error").at("type").as_string(), "invalid_request_error") << got;
    EXPECT_EQ(body.at("error").at("code").to_number<int>(), std::stoi(status)) << got;
  };
  // A head over the limit, complete or not yet.
  expect_error("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'b') + "\r\n\r\n",
               "431");
  expect_error("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'b'), "431");
  std::string many = "GET /health HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 200; ++i) many += "X:" + std::to_string(i % 10) + "\r\n";
  expect_error(many + "\r\n", "431");
  // A body over the limit, announced or chunked.
  expect_error(post_request(chat_body("", 4, R"("pad":")" + std::string(2000, 'x') + "\"")), "413");
  expect_error(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "400\r\n" +
          std::string(0x400, ' ') + "\r\n",
      "413");
  // The router still serves.
  EXPECT_EQ(call(port, "POST", "/v1/chat/completions", chat_body(""))->status, 200);
  const std::string m = router_metrics(port);
  EXPECT_EQ(metric_value(m, R"(agentsched_router_errors_total{kind="too_large"})"), 2) << m;
}

}  // namespace
}  // namespace agentsched::serve
