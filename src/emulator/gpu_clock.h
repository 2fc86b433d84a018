#pragma once
// The emulated GPU's clock: the run's clock (a ScaledClock; a VirtualClock in tests), except
// that while the emulator applies a finished step and schedules the next one it reads the
// step's planned end. The simulated GPU thus runs its steps back to back exactly as in `sim`,
// however late the event loop got to the timer; the lateness delays delivery to clients but
// does not accumulate in the engine's timeline. Never moves backwards. Waiting (ClockTimer)
// goes to the underlying clock.
#include <algorithm>
#include <optional>

#include "core/clock.h"

namespace agentsched::serve {

class GpuClock final : public Clock {
 public:
  explicit GpuClock(const Clock& base) : base_(base) {}

  Seconds now() const override {
    last_ = std::max(last_, held_ ? *held_ : base_.now());
    return last_;
  }
  double scale() const override { return base_.scale(); }
  // The underlying clock's time, without moving now(): reading now() to decide whether a
  // step is overdue would carry the clock past the step's end and void the hold() that
  // follows.
  Seconds base_now() const { return base_.now(); }

  // Reads `t` until release() (a planned step end, at or before the underlying time).
  void hold(Seconds t) { held_ = t; }
  void release() { held_.reset(); }

  std::optional<std::chrono::steady_clock::time_point> real_time_point(Seconds t) const override {
    return base_.real_time_point(t);
  }
  std::uint64_t wake_at(Seconds t, std::function<void()> wake) const override {
    return base_.wake_at(t, std::move(wake));
  }
  void cancel_wake(std::uint64_t id) const override { base_.cancel_wake(id); }

 private:
  const Clock& base_;
  std::optional<Seconds> held_;
  mutable Seconds last_ = 0;
};

}  // namespace agentsched::serve
