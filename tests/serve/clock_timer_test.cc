// Live code on the manual clock: ClockTimer / sleep_until on a VirtualClock complete when the
// test advances the clock, and the engine emulator's step pacing runs a long generation with
// no real sleeping.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <chrono>

#include "core/clock.h"
#include "emulator/engine_server.h"
#include "http/client.h"
#include "http/clock_timer.h"

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

}  // namespace
}  // namespace agentsched::serve
