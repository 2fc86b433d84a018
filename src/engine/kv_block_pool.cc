#include "engine/kv_block_pool.h"

#include <stdexcept>

namespace agentsched {

KvBlockPool::KvBlockPool(std::int64_t num_blocks) {
  if (num_blocks < 2) throw std::invalid_argument("KV pool needs at least two blocks");
  blocks_.resize(static_cast<std::size_t>(num_blocks));
  blocks_[0].ref_count = 1;  // the null block
  for (BlockId b = 1; b < num_blocks; ++b) push_free_tail(b);
  cached_.reserve(static_cast<std::size_t>(num_blocks));
}

BlockId KvBlockPool::lookup(std::uint64_t hash) const {
  auto it = cached_.find(hash);
  return it == cached_.end() ? kNoBlock : it->second;
}

void KvBlockPool::touch(BlockId b) {
  if (blocks_[b].ref_count++ == 0) unlink_free(b);
}

BlockId KvBlockPool::allocate() {
  const BlockId b = free_head_;
  if (b == kNoBlock) return kNoBlock;
  unlink_free(b);
  Block& block = blocks_[b];
  if (block.has_hash) {
    auto it = cached_.find(block.hash);
    if (it != cached_.end() && it->second == b) {
      cached_.erase(it);
      if (eviction_log_) eviction_log_->push_back(block.hash);
    }
    block.has_hash = false;
  }
  block.ref_count = 1;
  return b;
}

void KvBlockPool::release(const std::vector<BlockId>& blocks_last_first) {
  for (BlockId b : blocks_last_first) {
    if (--blocks_[b].ref_count == 0) push_free_tail(b);
  }
}

void KvBlockPool::release_sequence(const std::vector<BlockId>& blocks_in_order) {
  for (auto it = blocks_in_order.rbegin(); it != blocks_in_order.rend(); ++it)
    if (--blocks_[*it].ref_count == 0) push_free_tail(*it);
}

void KvBlockPool::cache(BlockId b, std::uint64_t hash) {
  Block& block = blocks_[b];
  if (block.has_hash) return;
  if (cached_.emplace(hash, b).second) {
    block.hash = hash;
    block.has_hash = true;
  }
}

void KvBlockPool::push_free_tail(BlockId b) {
  Block& block = blocks_[b];
  block.prev = free_tail_;
  block.next = kNoBlock;
  if (free_tail_ != kNoBlock)
    blocks_[free_tail_].next = b;
  else
    free_head_ = b;
  free_tail_ = b;
  ++num_free_;
}

void KvBlockPool::unlink_free(BlockId b) {
  Block& block = blocks_[b];
  if (block.prev != kNoBlock)
    blocks_[block.prev].next = block.next;
  else
    free_head_ = block.next;
  if (block.next != kNoBlock)
    blocks_[block.next].prev = block.prev;
  else
    free_tail_ = block.prev;
  block.prev = block.next = kNoBlock;
  --num_free_;
}

}  // namespace agentsched
