#include "serve/live_clock.h"

#include <cmath>
#include <stdexcept>

namespace agentsched::serve {

namespace {
double system_unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

LiveClock::LiveClock(double scale, std::optional<double> origin_unix)
    : scale_(scale),
      system_at_start_(system_unix_now()),
      steady_at_start_(std::chrono::steady_clock::now()) {
  if (!(scale > 0) || !std::isfinite(scale))
    throw std::invalid_argument("time scale must be a positive number");
  origin_ = origin_unix ? *origin_unix : system_at_start_;
}

double LiveClock::real_unix_now() const {
  return system_at_start_ +
         std::chrono::duration<double>(std::chrono::steady_clock::now() - steady_at_start_).count();
}

Seconds LiveClock::now() const {
  return (real_unix_now() - origin_) * scale_;
}

std::chrono::steady_clock::time_point LiveClock::real_time_point(Seconds t) const {
  const double real_unix = origin_ + t / scale_;
  return steady_at_start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(real_unix - system_at_start_));
}

std::chrono::steady_clock::duration LiveClock::real_duration(Seconds emulated) const {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(emulated / scale_));
}

}  // namespace agentsched::serve
