#pragma once
// Time, as everything that reads it sees it. The engine model and gateway policies never read
// the wall clock, and live code never sleeps on its own: both take a Clock.
//
// A Clock tells the time (now(), seconds since its origin) and lets live code wait for a
// time (http/clock_timer.h turns this into Asio timers and coroutine sleeps). Two kinds:
//
//   ScaledClock   real (steady) time x scale since an origin: the live processes' clock.
//                 Waiting is a steady timer at real_time_point(t).
//   VirtualClock  a manual clock: moves only when advanced (the simulator's event loop, a
//                 test). Waiting registers a wake-up that advance_to() runs when it passes the
//                 waited-for time -- live code runs on it without sleeping.
//
// The engine emulator's GpuClock (emulator/gpu_clock.h) reads one of these through a hold.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <utility>

namespace agentsched {

using Seconds = double;

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since this clock's origin (the start of the run).
  virtual Seconds now() const = 0;
  // Emulated seconds per real second: 1 for real time, X for a clock running X times faster.
  virtual double scale() const { return 1.0; }

  // ---- waiting ----
  // The steady-clock instant at which now() reads `t`, for a clock that real time moves;
  // nullopt for a manual clock, which wakes its waiters itself (wake_at).
  virtual std::optional<std::chrono::steady_clock::time_point> real_time_point(Seconds t) const {
    return std::nullopt;
  }
  // Manual clocks: runs `wake` once, when the clock is advanced to `t` or past it; returns an
  // id for cancel_wake(). Clocks that real time moves never call it and return 0.
  virtual std::uint64_t wake_at(Seconds t, std::function<void()> wake) const { return 0; }
  virtual void cancel_wake(std::uint64_t id) const {}
};

// Advanced explicitly (the simulator's event loop, tests); never moves backwards.
class VirtualClock final : public Clock {
 public:
  Seconds now() const override { return now_; }
  // Moves to `t`, running the wake-ups due on the way in time order (now() reads each one's
  // time while it runs).
  void advance_to(Seconds t) {
    if (!wakes_.empty()) run_wakes(t);
    if (t > now_) now_ = t;
  }
  // The earliest pending wake-up's time.
  std::optional<Seconds> next_wake() const;

  std::uint64_t wake_at(Seconds t, std::function<void()> wake) const override;
  void cancel_wake(std::uint64_t id) const override;

 private:
  void run_wakes(Seconds t);
  Seconds now_ = 0.0;
  // (time, id) -> wake-up; ids break ties in registration order.
  mutable std::map<std::pair<Seconds, std::uint64_t>, std::function<void()>> wakes_;
  mutable std::uint64_t next_wake_id_ = 1;
};

// Real elapsed time multiplied by `scale` since an origin: with scale 10 an emulated 90-minute
// run takes 9. The live processes of one run share the origin (the run's start, in real Unix
// seconds) and the scale, so their logs read in one emulated timeline; emulated Unix time =
// origin + (real Unix time - origin) x scale. Monotonic: the real time is the system clock
// read once at construction plus the steady clock's progress, so a wall-clock step during a
// run moves nothing.
class ScaledClock final : public Clock {
 public:
  // `origin_unix` is the real Unix time at which emulated and real time coincide; nullopt
  // takes the moment of construction (now() starts at 0). Throws std::invalid_argument for a
  // scale that is not a positive number.
  explicit ScaledClock(double scale = 1.0, std::optional<double> origin_unix = std::nullopt);

  Seconds now() const override;
  double scale() const override { return scale_; }
  double origin_unix() const { return origin_; }
  // Emulated Unix time now (what run folders write).
  double unix_now() const { return origin_ + now(); }
  // Real Unix time now.
  double real_unix_now() const;

  std::optional<std::chrono::steady_clock::time_point> real_time_point(Seconds t) const override;
  // Real duration of `emulated` seconds.
  std::chrono::steady_clock::duration real_duration(Seconds emulated) const;
  // Real seconds to wait for `emulated` seconds to pass on this clock.
  double to_real(Seconds emulated) const { return emulated / scale_; }

 private:
  double scale_;
  double origin_;
  double system_at_start_;  // real Unix seconds at steady_at_start_
  std::chrono::steady_clock::time_point steady_at_start_;
};

// Real time (scale 1).
using SteadyClock = ScaledClock;

}  // namespace agentsched
