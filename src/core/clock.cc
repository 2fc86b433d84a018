#include "core/clock.h"

#include <stdexcept>

namespace agentsched {

void VirtualClock::advance_to(Seconds t) {
  if (t > now_) now_ = t;
}

Seconds SteadyClock::now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - origin_).count();
}

ScaledClock::ScaledClock(double scale) : origin_(std::chrono::steady_clock::now()), scale_(scale) {
  if (!(scale > 0.0)) throw std::invalid_argument("time scale must be positive");
}

Seconds ScaledClock::now() const {
  return scale_ * std::chrono::duration<double>(std::chrono::steady_clock::now() - origin_).count();
}

}  // namespace agentsched
