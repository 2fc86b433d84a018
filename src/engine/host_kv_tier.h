#pragma once
// The host-memory KV tier of the engine model (vLLM's native KV offloading,
// --kv-offloading-backend native --kv-offloading-size <GiB>; docs/host-tier.md):
//
// - HostKvPool: which block contents (by prefix hash) host memory holds, LRU. A store of a
//   content already held refreshes it; a store into a full pool evicts the least recently
//   used content (vLLM's LRU offloading manager evicts the same way; it skips a store only
//   when every held block is being loaded at that moment, which this model does not track).
// - HostLink: the GPU-host link as one channel of `bandwidth` bytes/s shared equally by the
//   transfers on it at each moment (processor sharing), stores and loads alike; each transfer
//   is done `latency` after its last byte went through.
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/clock.h"

namespace agentsched {

class HostKvPool {
 public:
  explicit HostKvPool(std::int64_t capacity_blocks) : capacity_(capacity_blocks) {}

  std::int64_t capacity() const { return capacity_; }
  std::int64_t size() const { return static_cast<std::int64_t>(index_.size()); }
  bool contains(std::uint64_t hash) const { return index_.count(hash) != 0; }
  // Stores `hash` as the most recently used content; true when it was not held (the store
  // moves its bytes), false when it was (only its recency changes). Evicts LRU when full.
  bool store(std::uint64_t hash);
  // Marks `hash` (held) as the most recently used content.
  void touch(std::uint64_t hash);
  std::int64_t evictions() const { return evictions_; }

 private:
  std::int64_t capacity_;
  std::list<std::uint64_t> lru_;  // front: least recently used
  std::unordered_map<std::uint64_t, std::list<std::uint64_t>::iterator> index_;
  std::int64_t evictions_ = 0;
};

class HostLink {
 public:
  using TransferId = std::uint64_t;
  HostLink(double bytes_per_s, Seconds latency) : bytes_per_s_(bytes_per_s), latency_(latency) {}

  // Moves the link to `now`: every transfer gets its share of the bytes since the last call.
  void advance(Seconds now);
  // Starts a transfer of `bytes` at `now` (advance(now) first). A transfer that is `tracked`
  // keeps its done time until forget(); an untracked one (a store nobody waits for) leaves
  // no trace.
  TransferId start(Seconds now, double bytes, bool tracked);
  // When a tracked transfer is (or was) done; nullopt while its bytes still flow.
  std::optional<Seconds> done_at(TransferId id) const;
  void forget(TransferId id) { done_.erase(id); }
  // When the next transfer's last byte goes through, if none starts meanwhile.
  std::optional<Seconds> next_completion() const;
  std::size_t num_flowing() const { return flowing_.size(); }
  // Time with at least one transfer moving bytes, up to the last advance().
  Seconds busy_s() const { return busy_s_; }
  double bytes_moved() const { return bytes_moved_; }

 private:
  struct Transfer {
    TransferId id = 0;
    double remaining = 0;  // bytes
    bool tracked = false;
  };
  double bytes_per_s_;
  Seconds latency_;
  Seconds time_ = 0;
  std::vector<Transfer> flowing_;
  std::unordered_map<TransferId, Seconds> done_;
  TransferId next_id_ = 1;
  Seconds busy_s_ = 0;
  double bytes_moved_ = 0;
};

}  // namespace agentsched
