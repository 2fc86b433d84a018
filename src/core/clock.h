#pragma once
// Time as seen by the engine model and gateway policies. They never read the wall clock:
// the simulator hands them a VirtualClock it advances event by event, the live servers a
// SteadyClock or ScaledClock. All times are seconds (double) since the clock's origin.
#include <chrono>

namespace agentsched {

using Seconds = double;

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since this clock's origin (the start of the run).
  virtual Seconds now() const = 0;
  // Emulated seconds per real second: 1 for real time, X for a clock running X times faster.
  virtual double scale() const { return 1.0; }
};

// Advanced explicitly by the simulator's event loop; never moves backwards.
class VirtualClock final : public Clock {
 public:
  Seconds now() const override { return now_; }
  void advance_to(Seconds t);

 private:
  Seconds now_ = 0.0;
};

// Real elapsed time since construction.
class SteadyClock final : public Clock {
 public:
  SteadyClock() : origin_(std::chrono::steady_clock::now()) {}
  Seconds now() const override;

 private:
  std::chrono::steady_clock::time_point origin_;
};

// Real elapsed time multiplied by `scale`: with scale 10 an emulated 90-minute run takes 9.
class ScaledClock final : public Clock {
 public:
  explicit ScaledClock(double scale);
  Seconds now() const override;
  double scale() const override { return scale_; }
  // Real seconds to wait for `emulated` seconds to pass on this clock.
  double to_real(Seconds emulated) const { return emulated / scale_; }

 private:
  std::chrono::steady_clock::time_point origin_;
  double scale_;
};

}  // namespace agentsched
