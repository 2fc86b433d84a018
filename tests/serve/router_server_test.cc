// The router in-process, in front of fake backends whose every byte the tests control: what
// reaches the backend (body byte for byte, headers, the include_usage edit), relaying
// chunk by chunk, usage stripping, SGLang metrics, retries, stale keep-alive connections,
// truncated streams, chunked request bodies, 100-continue and pipelining.
#include <gtest/gtest.h>

#include <cstdio>

#include <atomic>
#include <boost/asio.hpp>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "fixture_files.h"
#include "http/server.h"
#include "router/router.h"
#include "serve/router_test_util.h"

namespace agentsched::serve {
namespace {

namespace asio = boost::asio;
using namespace agentsched::testing;
using tcp = asio::ip::tcp;

// What a fake backend saw.
struct Seen {
  std::mutex mu;
  std::vector<http::Request> requests;
  void add(const http::Request& r) {
    std::lock_guard lock(mu);
    requests.push_back(r);
  }
  std::vector<http::Request> chat() {
    std::lock_guard lock(mu);
    std::vector<http::Request> out;
    for (const auto& r : requests)
      if (r.path() == "/v1/chat/completions") out.push_back(r);
    return out;
  }
};

const std::string kVllmMetrics =
    "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.25\n"
    "vllm:num_requests_running{engine=\"0\",model_name=\"m\"} 2\n"
    "vllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} 1\n"
    "vllm:cache_config_info{block_size=\"16\",engine=\"0\",num_gpu_blocks=\"100\"} 1\n";

std::string completion(int prompt, int completion_tokens) {
  return R"({"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":)" +
         std::to_string(prompt) + R"(,"completion_tokens":)" + std::to_string(completion_tokens) +
         R"(,"total_tokens":)" + std::to_string(prompt + completion_tokens) + "}}";
}

// Serves raw responses on accepted connections; `script(n)` gives the bytes to answer the
// n-th request with (then the connection is kept) or nullopt to close without answering.
class RawBackend {
 public:
  RawBackend(asio::io_context& io, std::function<std::string(int)> answer, bool close_after)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        answer_(std::move(answer)),
        close_after_(close_after) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_; }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, s] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      ++connections_;
      asio::co_spawn(acceptor_.get_executor(), serve(std::move(s)), asio::detached);
    }
  }
  asio::awaitable<void> serve(tcp::socket s) {
    std::string in;
    char buf[65536];
    for (;;) {
      auto [ec, n] =
          co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      in.append(buf, n);
      const auto end = in.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      const auto cl = in.find("content-length: ");
      const std::size_t len = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
      if (in.size() < end + 4 + len) continue;
      in.erase(0, end + 4 + len);
      const std::string out = answer_(requests_++);
      co_await asio::async_write(s, asio::buffer(out), asio::as_tuple(asio::use_awaitable));
      if (close_after_) co_return;
    }
  }
  tcp::acceptor acceptor_;
  std::function<std::string(int)> answer_;
  bool close_after_;
  int requests_ = 0;
  int connections_ = 0;
};

// The router and fake backends on one io_context thread; the test talks HTTP to them.
class Harness {
 public:
  ~Harness() { stop(); }

  // A well-behaved fake backend: /metrics, and chat completions answered by `on_chat`
  // (default: a JSON completion with usage).
  std::uint16_t add_backend(std::function<asio::awaitable<void>(http::Exchange&)> on_chat = {},
                            std::string metrics = kVllmMetrics) {
    auto seen = std::make_shared<Seen>();
    seen_.push_back(seen);
    auto server = std::make_unique<http::Server>(
        io_.get_executor(), [seen, on_chat, metrics](http::Exchange& ex) -> asio::awaitable<void> {
          seen->add(ex.request());
          if (ex.request().path() == "/metrics") {
            http::Response r;
            r.content_type = "text/plain";
            r.body = metrics;
            co_await ex.respond(std::move(r));
          } else if (on_chat) {
            co_await on_chat(ex);
          } else {
            http::Response r;
            r.body = completion(10, 2);
            co_await ex.respond(std::move(r));
          }
        });
    EXPECT_TRUE(server->listen("127.0.0.1", 0));
    server->start();
    const std::uint16_t port = server->port();
    servers_.push_back(std::move(server));
    return port;
  }
  Seen& seen(std::size_t backend) { return *seen_.at(backend); }

  // A backend with a handler of its own.
  std::uint16_t add_server(http::Server::Handler handler) {
    auto server = std::make_unique<http::Server>(io_.get_executor(), std::move(handler));
    EXPECT_TRUE(server->listen("127.0.0.1", 0));
    server->start();
    const std::uint16_t port = server->port();
    servers_.push_back(std::move(server));
    return port;
  }
  // A backend writing raw bytes (see RawBackend).
  std::uint16_t add_raw(std::function<std::string(int)> answer, bool close_after) {
    raw_.push_back(std::make_unique<RawBackend>(io_, std::move(answer), close_after));
    return raw_.back()->port();
  }

  // A port nothing listens on.
  static std::uint16_t dead_port() {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
  }

  int start_router(std::vector<std::uint16_t> ports, RouterOptions o = {}) {
    o.port = 0;
    if (o.metrics_interval_s == RouterOptions().metrics_interval_s) o.metrics_interval_s = 0.05;
    o.shutdown_timeout_s = 1;
    for (auto p : ports) o.backends.push_back("http://127.0.0.1:" + std::to_string(p));
    router_ = std::make_unique<Router>(io_, o);
    EXPECT_TRUE(router_->start());
    const int port = router_->port();
    thread_ = std::thread([this] { io_.run(); });
    return port;
  }

  void stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      for (auto& s : servers_) s->stop();
      router_->shutdown([this] { io_.stop(); });
    });
    thread_.join();
  }

  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_{1};
  std::vector<std::shared_ptr<Seen>> seen_;
  std::vector<std::unique_ptr<http::Server>> servers_;
  std::vector<std::unique_ptr<RawBackend>> raw_;
  std::unique_ptr<Router> router_;
  std::thread thread_;
};

std::string big_body(const std::string& head_members) {
  std::string content;
  while (content.size() < 40000) content += "quoted \\\"json\\\" {[ text ]} ";
  return "{" + head_members + R"("messages":[{"role":"user","content":")" + content +
         R"("}],"max_tokens":5})";
}

TEST(RouterServer, ForwardsBodyByteForByteAndFiltersHopByHopHeaders) {
  Harness h;
  const auto b = h.add_backend();
  const int port = h.start_router({b});
  const std::string body = big_body(R"( "job_id" : "fwd:1", "extra" : {"x":[1,2]}, )");
  RawSocket s(port);
  ASSERT_TRUE(s.send_all(post_request(
      body,
      "Authorization: Bearer k\r\nX-Custom: v\r\nConnection: keep-alive\r\nTE: trailers\r\n")));
  const std::string answer = s.read_until("\"total_tokens\":12}}");
  EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
  auto chat = h.seen(0).chat();
  ASSERT_EQ(chat.size(), 1u);
  EXPECT_EQ(chat[0].body, body);  // byte for byte
  EXPECT_EQ(chat[0].header("authorization"), "Bearer k");
  EXPECT_EQ(chat[0].header("x-custom"), "v");
  EXPECT_EQ(chat[0].header("te"), "");
  EXPECT_EQ(chat[0].header("content-length"), std::to_string(body.size()));
  EXPECT_EQ(chat[0].header("host"), "127.0.0.1:" + std::to_string(b));
}

asio::awaitable<void> stream_events(http::Exchange& ex, const std::vector<std::string>& events) {
  co_await ex.begin_stream(200, "text/event-stream");
  for (const auto& e : events) co_await ex.write(e);
  co_await ex.end_stream();
}

TEST(RouterServer, AsksForUsageAndStripsTheUsageChunk) {
  Harness h;
  const auto b = h.add_backend([](http::Exchange& ex) -> asio::awaitable<void> {
    const bool usage = ex.request().body.find(R"("include_usage":true)") != std::string::npos;
    std::vector<std::string> events = {
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n",
        "data: "
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}"
        "\n\n"};
    if (usage)
      events.push_back(
          "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":2,"
          "\"total_tokens\":32}}\n\n");
    events.push_back("data: [DONE]\n\n");
    co_await stream_events(ex, events);
  });
  const int port = h.start_router({b});
  const std::string body = R"({"job_id":"s:1","stream":true,"messages":[]})";
  auto r = call(port, "POST", "/v1/chat/completions", body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-type"), "text/event-stream");
  EXPECT_EQ(r->body,
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"},\"finish_reason\":"
            "\"stop\"}]}\n\ndata: [DONE]\n\n");
  auto chat = h.seen(0).chat();
  ASSERT_EQ(chat.size(), 1u);
  EXPECT_EQ(
      chat[0].body,
      R"({"stream_options":{"include_usage":true},"job_id":"s:1","stream":true,"messages":[]})");
  auto detail = get_json(port, "/programs/s:1");
  ASSERT_TRUE(detail.is_object()) << detail;
  EXPECT_EQ(detail.at("context_tokens").to_number<int>(), 32);

  // A client that asks for usage gets it, and its body goes through untouched.
  const std::string asking =
      R"({"job_id":"s:1","stream":true,"stream_options":{"include_usage":true},"messages":[]})";
  r = call(port, "POST", "/v1/chat/completions", asking);
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("\"usage\":{\"prompt_tokens\":30"), std::string::npos) << r->body;
  EXPECT_EQ(h.seen(0).chat().at(1).body, asking);
}

TEST(RouterServer, RelaysEachChunkAsItArrives) {
  std::atomic<bool> first_seen{false};
  std::atomic<bool> backend_waited_too_long{false};
  Harness h;
  const auto b = h.add_backend([&](http::Exchange& ex) -> asio::awaitable<void> {
    co_await ex.begin_stream(200, "text/event-stream");
    co_await ex.write("data: first\n\n");
    // The second event is sent only once the client has the first: a router that buffered
    // would deadlock here until the deadline.
    asio::steady_timer t(co_await asio::this_coro::executor);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!first_seen && std::chrono::steady_clock::now() < deadline) {
      t.expires_after(1ms);
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (!first_seen) backend_waited_too_long = true;
    co_await ex.write("data: second\n\n");
    co_await ex.end_stream();
  });
  const int port = h.start_router({b});
  asio::io_context io;
  std::string got;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        http::HttpClient client(io.get_executor());
        co_await client.connect("127.0.0.1", static_cast<std::uint16_t>(port));
        co_await client.stream("POST", "/v1/chat/completions",
                               R"({"stream":true,"stream_options":{"include_usage":true}})", {},
                               [&](std::string_view data) {
                                 got += data;
                                 if (got.find("first") != std::string::npos) first_seen = true;
                               });
      },
      asio::detached);
  io.run_for(10s);
  EXPECT_TRUE(first_seen);
  EXPECT_FALSE(backend_waited_too_long);
  EXPECT_EQ(got, "data: first\n\ndata: second\n\n");
}

TEST(RouterServer, SglangMetricsArePolled) {
  const std::string sglang = test_fixtures::read("metrics/sglang.txt");
  ASSERT_FALSE(sglang.empty());
  Harness h;
  const auto b = h.add_backend({}, sglang);
  RouterOptions o;
  o.backend_type = BackendType::kSglang;
  const int port = h.start_router({b}, o);
  ASSERT_TRUE(wait_until([&] {
    auto v = get_json(port, "/backends");
    return v.is_object() && v.at("backends").at(0).at("polled_at_s").to_number<double>() >= 0;
  }));
  auto v = get_json(port, "/backends");
  const auto& b0 = v.at("backends").at(0);
  EXPECT_EQ(v.at("backend_type").as_string(), "sglang");
  EXPECT_DOUBLE_EQ(b0.at("kv_usage").to_number<double>(), 0.28);
  EXPECT_EQ(b0.at("num_running").to_number<int>(), 162);
  EXPECT_EQ(b0.at("num_waiting").to_number<int>(), 2826);
  EXPECT_EQ(b0.at("kv_capacity_tokens").to_number<int>(), 442354);
  EXPECT_TRUE(b0.at("up").as_bool());
}

TEST(RouterServer, VllmMetricsAndTheRouterOwnMetrics) {
  Harness h;
  const auto b = h.add_backend();
  const int port = h.start_router({b});
  ASSERT_EQ(call(port, "POST", "/v1/chat/completions", R"({"job_id":"m:1"})")->status, 200);
  ASSERT_TRUE(wait_until([&] {
    auto v = get_json(port, "/backends");
    return v.is_object() && v.at("backends").at(0).at("polled_at_s").to_number<double>() >= 0;
  }));
  auto r = call(port, "GET", "/metrics");
  ASSERT_TRUE(r);
  const std::string m = "\n" + r->body;
  const std::string label = "{backend=\"http://127.0.0.1:" + std::to_string(b) + "\"}";
  EXPECT_EQ(metric_value(m, "agentsched_router_backend_kv_usage" + label), 0.25) << m;
  EXPECT_EQ(metric_value(m, "agentsched_router_backend_running" + label), 2);
  EXPECT_EQ(metric_value(m, "agentsched_router_backend_waiting" + label), 1);
  EXPECT_EQ(metric_value(m, "agentsched_router_backend_programs" + label), 1);
  EXPECT_EQ(metric_value(m, R"(agentsched_router_requests_total{route="chat_completions"})"), 1);
  EXPECT_EQ(
      metric_value(m, R"(agentsched_router_responses_total{code="200",route="chat_completions"})"),
      1);
  EXPECT_EQ(metric_value(m, R"(agentsched_router_programs{state="idle"})"), 1);
  EXPECT_EQ(metric_value(m, "agentsched_router_proxy_overhead_seconds_count"), 1);
  EXPECT_NE(m.find("# TYPE agentsched_router_proxy_overhead_seconds histogram"), std::string::npos);
  EXPECT_EQ(get_json(port, "/backends").at("backends").at(0).at("kv_capacity_tokens"), 1600);
}

TEST(RouterServer, RetriesOnceOnAnotherBackendWhenTheFirstRefuses) {
  Harness h;
  const auto good = h.add_backend();
  const int port = h.start_router({Harness::dead_port(), good});
  // Before any poll has marked it down, the first call (a single call without identity) is
  // placed on the dead backend, and retried.
  auto first = call(port, "POST", "/v1/chat/completions", R"({"messages":[]})");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(first->header("x-agentsched-backend"), "1");
  for (int i = 0; i < 4; ++i) {
    auto r = call(port, "POST", "/v1/chat/completions",
                  R"({"job_id":"retry:)" + std::to_string(i) + R"("})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->header("x-agentsched-backend"), "1");
  }
  // Only the four named programs are tracked: no single call's program is left behind.
  EXPECT_EQ(get_json(port, "/programs").at("count").to_number<int>(), 4);
  auto m = "\n" + call(port, "GET", "/metrics")->body;
  // The router polls /metrics at start; on a slow machine (sanitizers) that poll can mark
  // backend 0 down before the first call arrives, and then nothing needs a retry. Either
  // way every call ended on the good backend (checked above) and at most one was retried.
  const double retried = metric_value(m, R"(agentsched_router_errors_total{kind="retried"})");
  EXPECT_LE(retried, 1) << m;
  if (retried == 0) std::printf("note: the first poll won the race; no retry was needed\n");
  auto v = get_json(port, "/backends");
  EXPECT_FALSE(v.at("backends").at(0).at("up").as_bool());
  EXPECT_NE(std::string(v.at("backends").at(0).at("last_error").as_string()).find("refused"),
            std::string::npos)
      << v;
  auto health = call(port, "GET", "/health");
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, R"({"status":"ok","backends_up":1,"backends":2})");
}

TEST(RouterServer, NoBackendLeftIsA503) {
  Harness h;
  const int port = h.start_router({Harness::dead_port()});
  auto r = call(port, "POST", "/v1/chat/completions", R"({"job_id":"x"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find(R"("type":"service_unavailable")"), std::string::npos) << r->body;
  EXPECT_EQ(call(port, "GET", "/health")->status, 503);
  auto m = "\n" + call(port, "GET", "/metrics")->body;
  EXPECT_EQ(metric_value(m, R"(agentsched_router_errors_total{kind="no_backend"})"), 1) << m;
}

std::string json_response(const std::string& body) {
  return "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(RouterServer, StaleKeepAliveConnectionIsRetriedFreshOnTheSameBackend) {
  Harness h;
  // Answers each request, then closes the connection without saying so (as a backend whose
  // keep-alive timeout expired would).
  const auto b = h.add_raw([](int) { return json_response(completion(3, 1)); }, true);
  RouterOptions o;
  o.metrics_interval_s = 1000;  // keep polls out of the way
  const int port = h.start_router({b}, o);
  for (int i = 0; i < 3; ++i) {
    auto r = call(port, "POST", "/v1/chat/completions", R"({"job_id":"stale"})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  }
  auto v = get_json(port, "/backends");
  EXPECT_TRUE(v.at("backends").at(0).at("up").as_bool()) << v;
}

TEST(RouterServer, GarbageFromTheBackendMarksItDown) {
  Harness h;
  const auto b = h.add_raw([](int) { return std::string("NOT HTTP AT ALL\r\n\r\n"); }, true);
  RouterOptions o;
  o.metrics_interval_s = 1000;
  const int port = h.start_router({b}, o);
  auto r = call(port, "POST", "/v1/chat/completions", R"({"job_id":"g"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;  // its only backend is down now
  EXPECT_NE(r->body.find("bad response"), std::string::npos) << r->body;
}

TEST(RouterServer, BackendDyingMidStreamTruncatesTheClientResponse) {
  Harness h;
  const auto b = h.add_backend([](http::Exchange& ex) -> asio::awaitable<void> {
    co_await ex.begin_stream(200, "text/event-stream");
    co_await ex.write("data: partial\n\n");
    // Returning without end_stream: the server closes the connection mid-body.
  });
  RouterOptions o;
  o.metrics_interval_s = 1000;
  const int port = h.start_router({b}, o);
  RawSocket s(port);
  ASSERT_TRUE(s.send_all(
      post_request(R"({"job_id":"cut","stream":true,"stream_options":{"include_usage":true}})")));
  const std::string got = s.read_until("never", 5s);  // until the router closes
  EXPECT_NE(got.find("data: partial"), std::string::npos) << got;
  EXPECT_EQ(got.find("\r\n0\r\n\r\n", got.find("partial")), std::string::npos)
      << "no last chunk: " << got;
  auto detail = get_json(port, "/programs/cut");
  ASSERT_TRUE(detail.is_object());
  EXPECT_EQ(detail.at("profile").at("errors").to_number<int>(), 1) << detail;
  EXPECT_EQ(detail.at("recent_calls").at(0).at("status").to_number<int>(), 502) << detail;
  EXPECT_EQ(detail.at("steps").to_number<int>(), 0);
}

TEST(RouterServer, ChunkedRequestBodyAndExpectContinue) {
  Harness h;
  const auto b = h.add_backend();
  const int port = h.start_router({b});
  RawSocket s(port);
  const std::string body = R"({"job_id":"chunky","messages":[]})";
  ASSERT_TRUE(
      s.send_all("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 "Expect: 100-continue\r\n\r\n"));
  const std::string interim = s.read_until("\r\n\r\n");
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  std::ostringstream rest;
  rest << std::hex << body.size() - 5;
  ASSERT_TRUE(s.send_all("5\r\n" + body.substr(0, 5) + "\r\n" + rest.str() + "\r\n" +
                         body.substr(5) + "\r\n0\r\n\r\n"));
  const std::string answer = s.read_until("}}");
  EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
  auto chat = h.seen(0).chat();
  ASSERT_EQ(chat.size(), 1u);
  EXPECT_EQ(chat[0].body, body);
  EXPECT_EQ(chat[0].header("content-length"), std::to_string(body.size()));
  EXPECT_EQ(chat[0].header("transfer-encoding"), "");
}

TEST(RouterServer, PipelinedRequestsAreAnsweredInOrder) {
  Harness h;
  const auto b = h.add_backend([](http::Exchange& ex) -> asio::awaitable<void> {
    http::Response r;
    r.body = completion(static_cast<int>(ex.request().body.size()), 1);
    co_await ex.respond(std::move(r));
  });
  const int port = h.start_router({b});
  RawSocket s(port);
  const std::string a = R"({"job_id":"pipe"})", bb = R"({"job_id":"pipe","x":12345})";
  ASSERT_TRUE(
      s.send_all(post_request(a) + post_request(bb) + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string got = s.read_until("\"backends\":1}");
  const auto first = got.find("\"prompt_tokens\":" + std::to_string(a.size()));
  const auto second = got.find("\"prompt_tokens\":" + std::to_string(bb.size()));
  const auto third = got.find("\"status\":\"ok\"");
  ASSERT_NE(first, std::string::npos) << got;
  ASSERT_NE(second, std::string::npos) << got;
  ASSERT_NE(third, std::string::npos) << got;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
}

TEST(RouterServer, ThunderReactPausesAndResumesThroughPolls) {
  // KV usage reported by the fake backend, changed by the test.
  auto usage = std::make_shared<std::atomic<int>>(10);  // percent
  Harness h;
  const auto metrics_for = [](int pct) {
    return "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} " +
           std::to_string(pct / 100.0) +
           "\nvllm:num_requests_running{engine=\"0\",model_name=\"m\"} 0\n"
           "vllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} 0\n";
  };
  // A backend whose /metrics follows `usage`.
  const auto b = h.add_server([usage, metrics_for](http::Exchange& ex) -> asio::awaitable<void> {
    http::Response r;
    if (ex.request().path() == "/metrics") {
      r.content_type = "text/plain";
      r.body = metrics_for(*usage);
    } else {
      r.body = completion(1000, 10);
    }
    co_await ex.respond(std::move(r));
  });
  RouterOptions o;
  o.policy = "thunderreact";
  o.policy_params = {{"budget", 10000}, {"pause_cooldown_s", 0}, {"resume_cooldown_s", 0}};
  const int port = h.start_router({b}, o);
  ASSERT_EQ(call(port, "POST", "/v1/chat/completions", R"({"job_id":"tr:1"})")->status, 200);
  *usage = 99;  // the next poll pauses the program (between calls)
  ASSERT_TRUE(wait_until([&] {
    auto v = get_json(port, "/programs/tr:1");
    return v.is_object() && v.at("paused").as_bool();
  }));
  // Its next call is held until usage drops.
  RawSocket s(port);
  ASSERT_TRUE(s.send_all(post_request(R"({"job_id":"tr:1"})")));
  ASSERT_TRUE(wait_until([&] {
    auto v = get_json(port, "/programs/tr:1");
    return v.is_object() && v.at("state").as_string() == "held";
  }));
  *usage = 10;
  const std::string answer = s.read_until("\"total_tokens\":1010}}");
  EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
  auto v = get_json(port, "/programs/tr:1");
  EXPECT_GT(v.at("recent_calls").at(1).at("held_s").to_number<double>(), 0) << v;
}

TEST(RouterServer, ProgramHeldOnABackendThatGoesDownMovesToAnUpOne) {
  // Backend 0 pauses its program (KV full), then dies; backend 1 has room. The held call
  // must not wait for a resume from the dead backend's polls, which never come.
  auto usage0 = std::make_shared<std::atomic<int>>(10);  // percent
  auto dead0 = std::make_shared<std::atomic<bool>>(false);
  Harness h;
  const auto metrics_for = [](int pct) {
    return "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} " +
           std::to_string(pct / 100.0) +
           "\nvllm:num_requests_running{engine=\"0\",model_name=\"m\"} 0\n"
           "vllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} 0\n";
  };
  const auto b0 =
      h.add_server([usage0, dead0, metrics_for](http::Exchange& ex) -> asio::awaitable<void> {
        http::Response r;
        if (*dead0) {
          r.status = 503;  // polls fail from now on: the router marks it down
          r.body = R"({"detail":"gone"})";
        } else if (ex.request().path() == "/metrics") {
          r.content_type = "text/plain";
          r.body = metrics_for(*usage0);
        } else {
          r.body = completion(1000, 10);
        }
        co_await ex.respond(std::move(r));
      });
  const auto b1 = h.add_server([metrics_for](http::Exchange& ex) -> asio::awaitable<void> {
    http::Response r;
    if (ex.request().path() == "/metrics") {
      r.content_type = "text/plain";
      r.body = metrics_for(10);
    } else {
      r.body = completion(1000, 20);
    }
    co_await ex.respond(std::move(r));
  });
  RouterOptions o;
  o.policy = "thunderreact";
  o.policy_params = {
      {"budget", 10000}, {"pause_cooldown_s", 0}, {"resume_cooldown_s", 0}, {"move_to_idle", 0}};
  const int port = h.start_router({b0, b1}, o);
  ASSERT_TRUE(wait_until([&] {  // both polled once: placement sees both
    auto v = get_json(port, "/backends");
    return v.is_object() && v.at("backends").at(0).at("polls").to_number<int>() > 0 &&
           v.at("backends").at(1).at("polls").to_number<int>() > 0;
  }));
  ASSERT_EQ(call(port, "POST", "/v1/chat/completions", R"({"job_id":"mv:1"})")->status, 200);
  ASSERT_EQ(get_json(port, "/programs/mv:1").at("backend").to_number<int>(), 0);
  *usage0 = 99;  // the next poll of backend 0 pauses the program
  ASSERT_TRUE(wait_until([&] {
    auto v = get_json(port, "/programs/mv:1");
    return v.is_object() && v.at("paused").as_bool();
  }));
  RawSocket s(port);
  ASSERT_TRUE(s.send_all(post_request(R"({"job_id":"mv:1"})")));
  ASSERT_TRUE(wait_until([&] {
    auto v = get_json(port, "/programs/mv:1");
    return v.is_object() && v.at("state").as_string() == "held";
  }));
  *dead0 = true;
  // Moved to backend 1, whose next poll (room) resumes it: the call is answered there.
  const std::string answer = s.read_until("\"total_tokens\":1020}}", 20s);
  EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
  EXPECT_NE(answer.find("x-agentsched-backend: 1"), std::string::npos) << answer;
  auto v = get_json(port, "/programs/mv:1");
  EXPECT_EQ(v.at("backend").to_number<int>(), 1) << v;
  EXPECT_FALSE(v.at("paused").as_bool()) << v;
}

}  // namespace
}  // namespace agentsched::serve
