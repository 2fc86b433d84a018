// Live code on the manual clock: ClockTimer / sleep_until on a VirtualClock complete when the
// test advances the clock, the engine emulator's step pacing runs a long generation and the
// router's policy timer fires at the policy's deadline, with no real sleeping. (The driver's
// and the KV sampler's runs on the manual clock are in live_e2e_test.cc.)
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <chrono>

#include "core/clock.h"
#include "emulator/engine_server.h"
#include "http/client.h"
#include "http/clock_timer.h"
#include "http/server.h"
#include "router/router.h"

namespace agentsched::serve {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using boost::system::error_code;
using namespace std::chrono_literals;

// Runs `io` until `done`: ready handlers first; when none is ready the manual clock jumps to
// its next wake-up, and only when it has none either does the loop wait (for socket I/O).
constexpr auto kManualLoopLimit = 60s;  // real time: a deadline, not a speed

template <typename Done>
void run_on_manual_clock(asio::io_context& io, VirtualClock& clock, Done done) {
  const auto limit = std::chrono::steady_clock::now() + kManualLoopLimit;
  while (!done() && std::chrono::steady_clock::now() < limit) {
    if (io.poll() > 0) continue;
    if (auto t = clock.next_wake()) {
      clock.advance_to(*t);
      continue;
    }
    io.run_one_for(5ms);
  }
  io.restart();
}

TEST(ClockTimer, SleepsOnTheManualClockWithoutRealTime) {
  asio::io_context io;
  VirtualClock clock;
  std::vector<double> woke;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await sleep_until(clock, 3600.0);  // an hour of emulated time
        woke.push_back(clock.now());
        co_await sleep_until(clock, 1800.0);  // already past: at once
        woke.push_back(clock.now());
        co_await sleep_until(clock, 7200.5);
        woke.push_back(clock.now());
      },
      asio::detached);
  run_on_manual_clock(io, clock, [&] { return woke.size() == 3; });
  EXPECT_EQ(woke, (std::vector<double>{3600.0, 3600.0, 7200.5}));
  EXPECT_FALSE(clock.next_wake());
}

TEST(ClockTimer, CallbacksCancelAndRearmAsAsioTimers) {
  asio::io_context io;
  VirtualClock clock;
  ClockTimer a(io.get_executor(), clock), b(io.get_executor(), clock);
  std::vector<std::pair<char, error_code>> got;
  a.expires_at(10);
  a.async_wait([&](error_code ec) { got.push_back({'a', ec}); });
  b.expires_at(5);
  b.async_wait([&](error_code ec) { got.push_back({'b', ec}); });
  EXPECT_EQ(clock.next_wake(), 5.0);
  io.poll();
  EXPECT_TRUE(got.empty());  // nothing moves until the clock does
  b.expires_at(20);          // re-armed: the first wait is aborted
  io.poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, 'b');
  EXPECT_EQ(got[0].second, asio::error::operation_aborted);
  b.async_wait([&](error_code ec) { got.push_back({'B', ec}); });
  clock.advance_to(15);  // a's time passes, b's not yet
  io.poll();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].first, 'a');
  EXPECT_FALSE(got[1].second);
  b.cancel();
  io.poll();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].second, asio::error::operation_aborted);
  EXPECT_FALSE(clock.next_wake());  // a cancelled timer leaves no wake-up behind
}

// The emulator's step loop on the manual clock: a long generation is one decode step after
// another, each paced by the step timer; the test's loop advances the clock from step end to
// step end, so it takes no more real time than the work.
TEST(ClockTimer, EngineStepPacingRunsOnTheManualClock) {
  asio::io_context io;
  VirtualClock clock;
  EngineServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.clock = &clock;
  EngineServer server(io, o);
  ASSERT_TRUE(server.start().ok());
  constexpr int kTokens = 6000;  // about 70 s of emulated decode steps
  const std::string body = json::serialize(json::object{
      {"messages", json::array{json::object{{"role", "user"}, {"content", std::string(400, 'q')}}}},
      {"max_tokens", kTokens},
      {"ignore_eos", true}});
  bool done = false;
  std::int64_t completion_tokens = -1;
  double answered_at = -1;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        http::HttpClient client(io.get_executor());
        if (co_await client.connect("127.0.0.1", server.port())) {
          auto r = co_await client.request("POST", "/v1/chat/completions", body);
          if (r && r->status == 200)
            completion_tokens = json::parse(r->body).at("usage").at("completion_tokens").as_int64();
        }
        answered_at = clock.now();
        done = true;
      },
      asio::detached);
  run_on_manual_clock(io, clock, [&] { return done; });
  EXPECT_EQ(completion_tokens, kTokens);
  // Every decode step took its modelled time on the manual clock: more emulated time than
  // the loop's real deadline, so none of it was waited for in real time.
  EXPECT_GT(answered_at, kManualLoopLimit.count());
  EXPECT_EQ(server.metrics().num_running, 0);
  bool stopped = false;
  server.shutdown([&] { stopped = true; });
  run_on_manual_clock(io, clock, [&] { return stopped; });
}

// The router's policy timer on the manual clock: admit holds a new program while the backend's
// engine queues requests, and admits it anyway once it has waited max_wait_s -- at that
// deadline on the router clock, with no real time waited for it.
TEST(ClockTimer, RouterPolicyTimerFiresAtThePolicyDeadline) {
  asio::io_context io;
  VirtualClock clock;
  int polls = 0;
  double chat_at = -1;
  http::Server backend(io.get_executor(), [&](http::Exchange& ex) -> asio::awaitable<void> {
    http::Response r;
    if (ex.request().path() == "/metrics") {
      ++polls;
      r.content_type = "text/plain";
      r.body =  // an engine with a queue: admit lets no new program in
          "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.5\n"
          "vllm:num_requests_running{engine=\"0\",model_name=\"m\"} 4\n"
          "vllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} 3\n";
    } else {
      chat_at = clock.now();
      r.body = R"({"id":"c","object":"chat.completion","choices":[{"index":0,"message":)"
               R"({"role":"assistant","content":"hi"},"finish_reason":"stop"}],)"
               R"("usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}})";
    }
    co_await ex.respond(std::move(r));
  });
  ASSERT_TRUE(backend.listen("127.0.0.1", 0).ok());
  backend.start();
  RouterOptions o;
  o.port = 0;
  o.backends = {"http://127.0.0.1:" + std::to_string(backend.port())};
  o.policy = "admit";
  o.policy_params = {{"max_wait_s", 600}};
  o.metrics_interval_s = 0.05;
  o.shutdown_timeout_s = 1;
  o.clock = &clock;
  Router router(io, o);
  ASSERT_TRUE(router.start().ok());
  run_on_manual_clock(io, clock, [&] { return polls >= 2; });  // the first poll is in

  int status = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        http::HttpClient client(io.get_executor());
        if (co_await client.connect("127.0.0.1", router.port())) {
          auto r = co_await client.request(
              "POST", "/v1/chat/completions",
              R"({"job_id":"p:1","messages":[{"role":"user","content":"hello"}]})");
          status = r ? r->status : -1;
        }
      },
      asio::detached);
  // The call is held, and the policy's deadline is a wake-up on the router clock.
  run_on_manual_clock(io, clock, [&] { return clock.next_wake().has_value(); });
  EXPECT_EQ(clock.next_wake(), 600.0);
  EXPECT_EQ(chat_at, -1);
  EXPECT_EQ(clock.now(), 0.0);
  run_on_manual_clock(io, clock, [&] { return status != 0; });
  EXPECT_EQ(status, 200);
  EXPECT_EQ(chat_at, 600.0);  // forwarded at the deadline, not before

  bool stopped = false;
  backend.stop();
  router.shutdown([&] { stopped = true; });
  run_on_manual_clock(io, clock, [&] { return stopped; });
  EXPECT_TRUE(stopped);
}

}  // namespace
}  // namespace agentsched::serve
