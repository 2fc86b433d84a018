#include "core/clock.h"

#include <cmath>
#include <stdexcept>

namespace agentsched {

namespace {
double system_unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

void VirtualClock::run_wakes(Seconds t) {
  while (!wakes_.empty() && wakes_.begin()->first.first <= t) {
    auto it = wakes_.begin();
    if (it->first.first > now_) now_ = it->first.first;
    std::function<void()> wake = std::move(it->second);
    wakes_.erase(it);
    wake();  // may register or cancel wake-ups
  }
}

std::optional<Seconds> VirtualClock::next_wake() const {
  if (wakes_.empty()) return std::nullopt;
  return wakes_.begin()->first.first;
}

std::uint64_t VirtualClock::wake_at(Seconds t, std::function<void()> wake) const {
  const std::uint64_t id = next_wake_id_++;
  wakes_.emplace(std::pair{t, id}, std::move(wake));
  return id;
}

void VirtualClock::cancel_wake(std::uint64_t id) const {
  for (auto it = wakes_.begin(); it != wakes_.end(); ++it)
    if (it->first.second == id) {
      wakes_.erase(it);
      return;
    }
}

ScaledClock::ScaledClock(double scale, std::optional<double> origin_unix)
    : scale_(scale),
      system_at_start_(system_unix_now()),
      steady_at_start_(std::chrono::steady_clock::now()) {
  if (!(scale > 0) || !std::isfinite(scale))
    throw std::invalid_argument("time scale must be a positive number");
  origin_ = origin_unix ? *origin_unix : system_at_start_;
}

double ScaledClock::real_unix_now() const {
  return system_at_start_ +
         std::chrono::duration<double>(std::chrono::steady_clock::now() - steady_at_start_).count();
}

Seconds ScaledClock::now() const {
  // Steady progress plus the (small) offset of the start from the origin: no Unix-sized
  // numbers in between, so a clock whose origin is its construction reads exact steady time.
  return scale_ *
         (std::chrono::duration<double>(std::chrono::steady_clock::now() - steady_at_start_)
              .count() +
          (system_at_start_ - origin_));
}

std::optional<std::chrono::steady_clock::time_point> ScaledClock::real_time_point(Seconds t) const {
  const double real_unix = origin_ + t / scale_;
  return steady_at_start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(real_unix - system_at_start_));
}

std::chrono::steady_clock::duration ScaledClock::real_duration(Seconds emulated) const {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(emulated / scale_));
}

}  // namespace agentsched
