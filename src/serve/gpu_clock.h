#pragma once
// The emulated GPU's clock: the core ScaledClock, except that while the emulator applies a
// finished step and schedules the next one it reads the step's planned end. The simulated
// GPU thus runs its steps back to back exactly as in `sim`, however late the event loop
// got to the timer; the lateness delays delivery to clients but does not accumulate in
// the engine's timeline. Never moves backwards.
#include <algorithm>
#include <chrono>
#include <optional>

#include "core/clock.h"

namespace agentsched::serve {

class GpuClock final : public Clock {
 public:
  explicit GpuClock(double scale) : scaled_(scale) {}

  Seconds now() const override {
    last_ = std::max(last_, held_ ? *held_ : scaled_.now());
    return last_;
  }
  double scale() const override { return scaled_.scale(); }
  // The scaled real time, without moving now(): reading now() to decide whether a step is
  // overdue would carry the clock past the step's end and void the hold() that follows.
  Seconds scaled_now() const { return scaled_.now(); }

  // Reads `t` until release() (a planned step end, at or before the real scaled time).
  void hold(Seconds t) { held_ = t; }
  void release() { held_.reset(); }

  // Real time to wait until this clock reads `t` (zero or negative when already past).
  std::chrono::steady_clock::duration real_until(Seconds t) const {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(scaled_.to_real(t - scaled_.now())));
  }

 private:
  ScaledClock scaled_;
  std::optional<Seconds> held_;
  mutable Seconds last_ = 0;
};

}  // namespace agentsched::serve
