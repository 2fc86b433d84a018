#include "http/clock_timer.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace agentsched::serve {

namespace asio = boost::asio;
using boost::system::error_code;
using SteadyTime = std::chrono::steady_clock::time_point;

ClockTimer::ClockTimer(const asio::any_io_executor& executor, const Clock& clock)
    : clock_(clock), timer_(executor), state_(std::make_shared<State>()) {}

ClockTimer::~ClockTimer() {
  disarm();
}

void ClockTimer::disarm() {
  if (wake_id_ == 0) return;
  clock_.cancel_wake(wake_id_);
  wake_id_ = 0;
}

void ClockTimer::expires_at(Seconds t) {
  disarm();
  ++state_->generation;
  state_->fired = false;
  if (auto at = clock_.real_time_point(t)) {  // a clock real time moves
    timer_.expires_at(*at);
    return;
  }
  // A manual clock: the steady timer never expires by itself; the clock's wake-up cancels
  // the wait in progress (reported as success) and lets later waits complete at once.
  if (t <= clock_.now()) {
    timer_.expires_at(SteadyTime::min());
    return;
  }
  timer_.expires_at(SteadyTime::max());
  wake_id_ = clock_.wake_at(t, [this, state = state_, generation = state_->generation] {
    if (generation != state->generation) return;
    wake_id_ = 0;
    state->fired = true;
    timer_.expires_at(SteadyTime::min());
  });
}

void ClockTimer::async_wait(std::function<void(error_code)> handler) {
  timer_.async_wait([state = state_, generation = state_->generation,
                     handler = std::move(handler)](error_code ec) {
    if (ec == asio::error::operation_aborted && state->fired && generation == state->generation)
      ec = {};
    handler(ec);
  });
}

asio::awaitable<error_code> ClockTimer::wait() {
  const auto state = state_;
  const std::uint64_t generation = state->generation;
  auto [ec] = co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  if (ec == asio::error::operation_aborted && state->fired && generation == state->generation)
    ec = {};
  co_return ec;
}

void ClockTimer::cancel() {
  disarm();
  state_->fired = false;
  timer_.cancel();
}

asio::awaitable<void> sleep_until(const Clock& clock, Seconds t) {
  ClockTimer timer(co_await asio::this_coro::executor, clock);
  timer.expires_at(t);
  co_await timer.wait();
}

void run_on_clock(asio::io_context& io, const Clock& clock, const std::function<bool()>& advance) {
  if (clock.real_time_point(clock.now())) {
    io.run();
    return;
  }
  while (!io.stopped()) {
    if (io.poll() > 0) continue;
    if (io.stopped()) break;
    if (advance && advance()) continue;
    io.run_one_for(std::chrono::milliseconds(5));
  }
}

}  // namespace agentsched::serve
