// `agentsched engine --fault KIND=EVERY`: each fault kind in-process on loopback with raw
// sockets and the http client (what a gateway under test sees byte by byte), the counter in
// /metrics, and the command line's errors for bad specs. Waits are bounded polls on the
// engine's own metrics, never sleeps that time something.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>

#include "emulator/engine_server.h"
#include "http/live_http.h"
#include "http/prometheus.h"
#include "http/vllm_metrics.h"
#include "serve/child_process.h"
#include "serve/live_engine.h"
#include "serve/router_test_util.h"

namespace agentsched::serve {
namespace {

using testing::post_request;
using testing::RawSocket;
using testing::run_shell;

std::string chat(int max_tokens, bool stream = false, const std::string& text = "fault test") {
  json::object o{{"messages", json::array{json::object{{"role", "user"}, {"content", text}}}},
                 {"max_tokens", max_tokens},
                 {"ignore_eos", true},
                 {"stream", stream}};
  return json::serialize(o);
}

EngineServerOptions with_fault(EngineFaultKind kind, std::int64_t every, double time_scale = 200) {
  EngineServerOptions o = fast();
  o.time_scale = time_scale;
  o.faults.push_back({kind, every});
  return o;
}

double faults_metric(LiveEngine& e, std::string_view kind) {
  const auto t = e.metrics_text();
  for (const auto* s : http::find_samples(t, "agentsched_engine_faults_injected_total"))
    if (s->label("kind") == kind) return s->value;
  ADD_FAILURE() << "no agentsched_engine_faults_injected_total{kind=\"" << kind << "\"}";
  return -1;
}

std::size_t count(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(FaultEngine, ParsesSpecsAndNamesTheFlagInErrors) {
  auto f = parse_engine_fault("stall=7");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->kind, EngineFaultKind::kStall);
  EXPECT_EQ(f->every, 7);
  for (const char* kind : {"http500", "close", "stall", "garbage-metrics"}) {
    auto g = parse_engine_fault(std::string(kind) + "=1");
    ASSERT_TRUE(g.ok()) << kind;
    EXPECT_EQ(engine_fault_name(g->kind), kind);
  }
  for (const char* bad : {"stall", "stall=", "stall=0", "stall=-2", "stall=3x", "nope=3", "=3",
                          "http500=99999999999999999999"}) {
    auto g = parse_engine_fault(bad);
    ASSERT_FALSE(g.ok()) << bad;
    EXPECT_NE(g.error().message.find("--fault"), std::string::npos) << g.error().message;
    EXPECT_NE(g.error().message.find(std::string("'") + bad + "'"), std::string::npos)
        << g.error().message;
  }
  // One EVERY per kind.
  EngineServerOptions o = with_fault(EngineFaultKind::kStall, 2);
  o.faults.push_back({EngineFaultKind::kStall, 3});
  asio::io_context io;
  EXPECT_THROW(EngineServer(io, o), std::runtime_error);
}

TEST(FaultEngine, CommandLineRejectsBadSpecsClearly) {
  for (const std::string spec : {"stall=0", "bogus=2", "close"}) {
    auto [rc, out] = run_shell(std::string(AGENTSCHED_BINARY) + " engine --port 0 --fault " + spec);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("--fault '" + spec + "'"), std::string::npos) << out;
  }
  auto [rc, out] = run_shell(std::string(AGENTSCHED_BINARY) +
                             " engine --port 0 --fault close=2 --fault close=3");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("--fault close given twice"), std::string::npos) << out;
  auto [hrc, help] = run_shell(std::string(AGENTSCHED_BINARY) + " engine --help");
  EXPECT_EQ(hrc, 0);
  EXPECT_NE(help.find("FOR TESTING"), std::string::npos) << help;
}

TEST(FaultEngine, Http500EveryNthChatRequestBeforeAnyWork) {
  LiveEngine e(with_fault(EngineFaultKind::kHttp500, 3));
  int failed = 0;
  for (int i = 1; i <= 7; ++i) {
    auto r = e.post("/v1/chat/completions", chat(4));
    ASSERT_TRUE(r.ok()) << r.error().message;
    if (i % 3 == 0) {
      ++failed;
      EXPECT_EQ(r->status, 500) << r->body;
      auto body = json::parse(r->body).as_object();
      EXPECT_EQ(body.at("object").as_string(), "error");
      EXPECT_EQ(body.at("code").as_int64(), 500);
      EXPECT_EQ(body.at("error").at("code").as_int64(), 500);
      EXPECT_NE(r->body.find("--fault http500"), std::string::npos) << r->body;
    } else {
      EXPECT_EQ(r->status, 200) << r->body;
    }
  }
  EXPECT_EQ(failed, 2);
  EXPECT_EQ(faults_metric(e, "http500"), 2);
  // The faulted requests never reached the engine.
  EXPECT_EQ(e.metric("vllm:request_success_total", "length"), 5);
  EXPECT_EQ(e.metric("vllm:request_success_total", "abort"), 0);
}

TEST(FaultEngine, CloseCutsANonStreamingAnswerAfterItsHead) {
  LiveEngine e(with_fault(EngineFaultKind::kClose, 2));
  auto first = e.post("/v1/chat/completions", chat(4));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, 200);
  RawSocket s(e.port());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.send_all(post_request(chat(4))));
  const std::string got = s.read_to_eof();  // until the engine closes
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  const auto head_end = got.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << got;
  // Field names in lower case, as uvicorn (vLLM) and the router write them.
  EXPECT_NE(got.find("content-length: "), std::string::npos) << got;
  EXPECT_EQ(got.size(), head_end + 4) << "no byte of the body: " << got;
  // The http client sees a failed exchange, not a short success.
  auto third = e.post("/v1/chat/completions", chat(4));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->status, 200);
  auto fourth = e.post("/v1/chat/completions", chat(4));
  EXPECT_FALSE(fourth.ok());
  EXPECT_EQ(faults_metric(e, "close"), 2);
}

TEST(FaultEngine, CloseCutsAStreamAfterItsFirstChunkAndAbortsTheRequest) {
  LiveEngine e(with_fault(EngineFaultKind::kClose, 1, /*time_scale=*/20));
  const auto idle = e.metrics();
  RawSocket s(e.port());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.send_all(post_request(chat(30000, /*stream=*/true, std::string(2000, 'c')))));
  const std::string got = s.read_to_eof();  // until the engine closes
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_EQ(count(got, "data: "), 2u) << "the role chunk and one content chunk: " << got;
  EXPECT_NE(got.find(R"("delta":{"role":"assistant")"), std::string::npos) << got;
  EXPECT_EQ(got.find("[DONE]"), std::string::npos) << got;
  EXPECT_EQ(got.find(R"("finish_reason":"length")"), std::string::npos) << got;
  EXPECT_EQ(got.find("\r\n0\r\n\r\n"), std::string::npos) << "no last chunk: " << got;
  // The request was aborted with the connection: its KV blocks are free again.
  EXPECT_TRUE(e.wait_back_to_idle(idle, 60s));
  EXPECT_EQ(e.metric("vllm:request_success_total", "abort"), 1);
  EXPECT_EQ(faults_metric(e, "close"), 1);
}

TEST(FaultEngine, StallSendsNothingAndAbortsWhenTheClientHangsUp) {
  LiveEngine e(with_fault(EngineFaultKind::kStall, 2, /*time_scale=*/20));
  const auto idle = e.metrics();
  auto first = e.post("/v1/chat/completions", chat(4));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, 200);

  // A short request: the engine finishes it, and still no byte comes back.
  {
    RawSocket s(e.port());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.send_all(post_request(chat(4))));
    ASSERT_TRUE(e.wait_metrics(
        [&](const BackendMetrics&) {
          return e.metric("vllm:request_success_total", "length") == 2;
        },
        60s));
    EXPECT_FALSE(s.anything_arrived());
    EXPECT_EQ(faults_metric(e, "stall"), 1);
  }  // hangs up

  auto third = e.post("/v1/chat/completions", chat(4));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->status, 200);

  // A long one: it runs until the client gives up, then it is aborted and its KV freed.
  RawSocket s(e.port());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.send_all(post_request(chat(30000, /*stream=*/true, std::string(2000, 's')))));
  ASSERT_TRUE(e.wait_metrics([](const BackendMetrics& m) { return m.num_running == 1; }, 60s));
  EXPECT_FALSE(s.anything_arrived());
  s.close();
  EXPECT_TRUE(e.wait_back_to_idle(idle, 60s));
  EXPECT_EQ(e.metric("vllm:request_success_total", "abort"), 1);
  EXPECT_EQ(faults_metric(e, "stall"), 2);
}

TEST(FaultEngine, StalledRequestsEndWithShutdown) {
  EngineServerOptions o = with_fault(EngineFaultKind::kStall, 1);
  o.shutdown_timeout_s = 0.5;  // a stalled request is in flight: it gets this, then 503
  LiveEngine e(o);
  RawSocket s(e.port());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.send_all(post_request(chat(4))));
  ASSERT_TRUE(e.wait_metrics(
      [&](const BackendMetrics&) { return e.metric("vllm:request_success_total", "length") == 1; },
      60s));
  e.shutdown_async();
  const std::string got = s.read_to_eof();
  EXPECT_EQ(got.rfind("HTTP/1.1 503", 0), 0u) << got;
  EXPECT_TRUE(e.join_for(30s));
}

TEST(FaultEngine, AStalledCallTimesOutWithTheRealDeadlineInItsReason) {
  // The live tools' deadline (serve/live_http.h) against a stall: at high time scales the
  // real deadline is milliseconds, and the reason must still say how long it was.
  LiveEngine e(with_fault(EngineFaultKind::kStall, 1));
  asio::io_context io;
  http::HttpClient client(io.get_executor());
  std::optional<Result<http::ClientResponse>> reply;
  HttpEndpoint endpoint;
  endpoint.host = "127.0.0.1";
  endpoint.port = e.port();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        reply = co_await timed_request(client, endpoint, "POST", "/v1/chat/completions", chat(4),
                                       std::chrono::milliseconds(15));
      },
      asio::detached);
  io.run_for(30s);
  ASSERT_TRUE(reply.has_value());
  ASSERT_FALSE(reply->ok());
  EXPECT_NE(reply->error().message.find("no reply within 0.015 s (real)"), std::string::npos)
      << reply->error().message;
  EXPECT_TRUE(classify_failure(*reply).transient);
}

TEST(FaultEngine, GarbageMetricsEveryNthScrape) {
  LiveEngine e(with_fault(EngineFaultKind::kGarbageMetrics, 2));
  for (int scrape = 1; scrape <= 4; ++scrape) {
    auto r = e.get("/metrics");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200);
    const auto text = http::parse_prometheus_text(r->body);
    const auto metrics = http::backend_metrics_from_vllm(text);
    if (scrape % 2 == 0) {
      EXPECT_TRUE(text.samples.empty()) << r->body;
      EXPECT_FALSE(text.bad_lines.empty());
      EXPECT_FALSE(metrics.ok());
    } else {
      EXPECT_TRUE(text.bad_lines.empty()) << r->body;
      EXPECT_TRUE(metrics.ok());
      double injected = -1;
      for (const auto* s : http::find_samples(text, "agentsched_engine_faults_injected_total"))
        if (s->label("kind") == "garbage-metrics") injected = s->value;
      EXPECT_EQ(injected, scrape / 2) << r->body;
      EXPECT_EQ(text.types.at("agentsched_engine_faults_injected_total"), "counter");
    }
  }
  // Chat requests are not scrapes.
  auto c = e.post("/v1/chat/completions", chat(2));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->status, 200);
}

TEST(FaultEngine, NoFaultFamilyWithoutFaults) {
  LiveEngine e;
  auto r = e.get("/metrics");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body.find("agentsched_engine"), std::string::npos);
}

TEST(FaultEngine, FirstKindWinsWhenTwoFaultsFallOnOneRequest) {
  EngineServerOptions o = with_fault(EngineFaultKind::kHttp500, 2);
  o.faults.push_back({EngineFaultKind::kStall, 3});
  LiveEngine e(o);
  // Requests 1..6: 2, 4 and 6 get http500 (6 too: http500 comes first); 3 stalls.
  for (int i = 1; i <= 6; ++i) {
    if (i == 3) {
      http::Headers none;
      auto r = http::fetch("127.0.0.1", e.port(), "POST", "/v1/chat/completions", chat(2), none,
                           /*timeout_s=*/0.5);  // the stalled one: the client gives up
      EXPECT_FALSE(r.ok());
      continue;
    }
    auto r = e.post("/v1/chat/completions", chat(2));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, i % 2 == 0 ? 500 : 200) << i;
  }
  EXPECT_EQ(faults_metric(e, "http500"), 3);
  EXPECT_EQ(faults_metric(e, "stall"), 1);
}

}  // namespace
}  // namespace agentsched::serve
