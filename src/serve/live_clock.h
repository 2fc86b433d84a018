#pragma once
// The clock every live process of a run shares (engine waits aside, which run on the
// engine's own GpuClock at the same scale): emulated Unix time = origin + (real Unix time -
// origin) x scale. Processes started by one experiment get the same origin (the run's
// start, in real Unix seconds) and scale, so the driver's log lines and the sampler's CSV
// rows read in one emulated timeline -- a 20x run's driver.log reads like a real-time run
// and compares directly with a `sim` run folder.
//
// Monotonic: the real time is the system clock read once at construction plus the steady
// clock's progress, so a wall-clock step during a run moves nothing.
#include <chrono>
#include <optional>

#include "core/clock.h"

namespace agentsched::serve {

class LiveClock final : public Clock {
 public:
  // `origin_unix` is the real Unix time at which emulated and real time coincide; nullopt
  // takes the moment of construction. Throws std::invalid_argument for a scale <= 0.
  explicit LiveClock(double scale = 1.0, std::optional<double> origin_unix = std::nullopt);

  // Emulated seconds since the origin.
  Seconds now() const override;
  double scale() const override { return scale_; }
  double origin_unix() const { return origin_; }
  // Emulated Unix time now (what run folders write).
  double unix_now() const { return origin_ + now(); }
  // Real Unix time now.
  double real_unix_now() const;

  // Steady-clock instant at which now() reads `t` (for Asio timers).
  std::chrono::steady_clock::time_point real_time_point(Seconds t) const;
  // Real duration of `emulated` seconds.
  std::chrono::steady_clock::duration real_duration(Seconds emulated) const;

 private:
  double scale_;
  double origin_;
  double system_at_start_;  // real Unix seconds at steady_at_start_
  std::chrono::steady_clock::time_point steady_at_start_;
};

}  // namespace agentsched::serve
