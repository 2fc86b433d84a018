#pragma once
// Waiting on a Clock (core/clock.h) in Asio code: the one way live code -- the driver's waits,
// the engine emulator's step pacing, the KV sampler's ticks, the router's policy timer --
// waits for an emulated time.
// On a ScaledClock a ClockTimer is a steady timer at the real instant the clock reads the
// time; on a VirtualClock (tests) it completes when the test advances the clock there, with
// no real sleeping.
//
//   ClockTimer timer(executor, clock);
//   timer.expires_at(t);                         // or expires_after(emulated seconds)
//   timer.async_wait([](error_code ec) {...});   // operation_aborted when cancelled/re-armed
//   co_await timer.wait();                       // the same, in a coroutine
//   co_await sleep_until(clock, t);
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <functional>
#include <memory>

#include "core/clock.h"

namespace agentsched::serve {

class ClockTimer {
 public:
  ClockTimer(const boost::asio::any_io_executor& executor, const Clock& clock);
  ~ClockTimer();
  ClockTimer(const ClockTimer&) = delete;
  ClockTimer& operator=(const ClockTimer&) = delete;

  // Arms the timer for the clock's time `t` (at once when already past), cancelling a wait in
  // progress.
  void expires_at(Seconds t);
  void expires_after(Seconds emulated) { expires_at(clock_.now() + emulated); }
  // The handler gets success when the clock reaches the time, operation_aborted when the
  // timer is cancelled or re-armed first.
  void async_wait(std::function<void(boost::system::error_code)> handler);
  boost::asio::awaitable<boost::system::error_code> wait();
  // Cancels the wait in progress; arm the timer again before the next wait.
  void cancel();

 private:
  struct State {
    std::uint64_t generation = 0;  // per expires_at
    bool fired = false;            // the manual clock reached this generation's time
  };
  void disarm();

  const Clock& clock_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<State> state_;
  std::uint64_t wake_id_ = 0;  // the manual clock's wake-up while armed
};

// Sleeps until `clock` reads `t`.
boost::asio::awaitable<void> sleep_until(const Clock& clock, Seconds t);

// Runs `io` as io.run() does, until it has no work left or is stopped. On a clock real time
// moves that is io.run(); on a manual clock `advance` moves the clock to its next wake-up
// whenever no handler is ready (false when it has none: the loop then waits for I/O), so a
// run of emulated hours takes the real time of its work only.
void run_on_clock(boost::asio::io_context& io, const Clock& clock,
                  const std::function<bool()>& advance);

}  // namespace agentsched::serve
