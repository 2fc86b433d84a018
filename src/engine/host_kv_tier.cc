#include "engine/host_kv_tier.h"

#include <algorithm>

namespace agentsched {

bool HostKvPool::store(std::uint64_t hash) {
  if (capacity_ <= 0) return false;
  if (auto it = index_.find(hash); it != index_.end()) {
    lru_.splice(lru_.end(), lru_, it->second);
    return false;
  }
  while (size() >= capacity_) {
    index_.erase(lru_.front());
    lru_.pop_front();
    ++evictions_;
  }
  lru_.push_back(hash);
  index_.emplace(hash, std::prev(lru_.end()));
  return true;
}

void HostKvPool::touch(std::uint64_t hash) {
  if (auto it = index_.find(hash); it != index_.end()) lru_.splice(lru_.end(), lru_, it->second);
}

void HostLink::advance(Seconds now) {
  while (!flowing_.empty() && time_ < now) {
    const double rate = bytes_per_s_ / static_cast<double>(flowing_.size());
    auto first = std::min_element(
        flowing_.begin(), flowing_.end(), [](const Transfer& a, const Transfer& b) {
          return a.remaining < b.remaining || (a.remaining == b.remaining && a.id < b.id);
        });
    const Seconds through = time_ + first->remaining / rate;
    // Bytes that would be left at `now` below a millionth of a byte are rounding: the
    // transfer is through (at `through`, a hair past `now`), so a wake-up at its predicted end
    // always finds it done.
    if (through > now && (through - now) * rate > 1e-6) {
      const double moved = (now - time_) * rate;
      for (Transfer& t : flowing_) t.remaining -= moved;
      bytes_moved_ += moved * static_cast<double>(flowing_.size());
      busy_s_ += now - time_;
      time_ = now;
      return;
    }
    const double moved = first->remaining;
    const TransferId first_id = first->id;
    bytes_moved_ += moved * static_cast<double>(flowing_.size());
    busy_s_ += through - time_;
    time_ = through;
    // Every transfer within a millionth of a byte of the first is through with it.
    std::vector<Transfer> still;
    for (Transfer& t : flowing_) {
      t.remaining -= moved;
      if (t.id == first_id || t.remaining <= 1e-6) {
        if (t.tracked) done_[t.id] = through + latency_;
      } else {
        still.push_back(t);
      }
    }
    flowing_ = std::move(still);
  }
  time_ = std::max(time_, now);
}

HostLink::TransferId HostLink::start(Seconds now, double bytes, bool tracked) {
  advance(now);
  const TransferId id = next_id_++;
  if (bytes <= 0) {
    if (tracked) done_[id] = now + latency_;
    return id;
  }
  flowing_.push_back({id, bytes, tracked});
  return id;
}

std::optional<Seconds> HostLink::done_at(TransferId id) const {
  auto it = done_.find(id);
  if (it == done_.end()) return std::nullopt;
  return it->second;
}

std::optional<Seconds> HostLink::next_completion() const {
  if (flowing_.empty()) return std::nullopt;
  double least = flowing_.front().remaining;
  for (const Transfer& t : flowing_) least = std::min(least, t.remaining);
  return time_ + least * static_cast<double>(flowing_.size()) / bytes_per_s_;
}

}  // namespace agentsched
