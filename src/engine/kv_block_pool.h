#pragma once
// Paged KV cache as vLLM V1 manages it: fixed-size blocks, a prefix cache keyed by a hash
// chained over the token prefix, and an LRU free queue in which cached-but-unreferenced
// blocks still count as free until they are reused.
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace agentsched {

using BlockId = std::int32_t;
inline constexpr BlockId kNoBlock = -1;

class KvBlockPool {
 public:
  // `num_blocks` includes the null block, which is allocated for good at start (as in vLLM),
  // so an idle pool reports a usage of 1/num_blocks.
  explicit KvBlockPool(std::int64_t num_blocks);

  std::int64_t num_blocks() const { return static_cast<std::int64_t>(blocks_.size()); }
  std::int64_t num_free() const { return num_free_; }
  // vllm:kv_cache_usage_perc = 1 - free / total.
  double usage() const { return 1.0 - static_cast<double>(num_free_) / blocks_.size(); }

  // The cached block holding the content with this prefix hash, or kNoBlock.
  BlockId lookup(std::uint64_t hash) const;
  // Takes a reference on a cached block (removing it from the free queue if unreferenced).
  void touch(BlockId block);
  // Whether touching `block` would take it out of the free queue.
  bool is_free(BlockId block) const { return blocks_[block].ref_count == 0; }
  // Takes the least recently freed block; evicts its cached content. kNoBlock when none free.
  BlockId allocate();
  // Drops one reference from each block; blocks reaching zero join the free queue tail in
  // the order given (callers pass a request's blocks last-first, so its tail is evicted
  // before its shared prefix).
  void release(const std::vector<BlockId>& blocks_last_first);
  // The same for a request's blocks in sequence order: releases them last block first.
  void release_sequence(const std::vector<BlockId>& blocks_in_order);
  // Records that `block` now holds full content with this prefix hash. If another block
  // already holds that hash the first one stays the cached copy.
  void cache(BlockId block, std::uint64_t hash);

  std::int32_t ref_count(BlockId block) const { return blocks_[block].ref_count; }
  // Whether `block` is the cached copy of the content with this hash.
  bool holds(BlockId block, std::uint64_t hash) const {
    return blocks_[block].has_hash && blocks_[block].hash == hash;
  }
  std::size_t num_cached() const { return cached_.size(); }
  // When set, allocate() appends the hash of every cached block it evicts (the host tier
  // stores them); null (the default) records nothing.
  void set_eviction_log(std::vector<std::uint64_t>* log) { eviction_log_ = log; }

 private:
  struct Block {
    std::uint64_t hash = 0;
    bool has_hash = false;
    std::int32_t ref_count = 0;
    BlockId prev = kNoBlock;  // free-queue links
    BlockId next = kNoBlock;
  };
  void push_free_tail(BlockId b);
  void unlink_free(BlockId b);

  std::vector<Block> blocks_;
  BlockId free_head_ = kNoBlock;
  BlockId free_tail_ = kNoBlock;
  std::int64_t num_free_ = 0;
  std::unordered_map<std::uint64_t, BlockId> cached_;
  std::vector<std::uint64_t>* eviction_log_ = nullptr;
};

}  // namespace agentsched
