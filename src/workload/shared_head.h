#pragma once
// Prompt heads shared across programs. vLLM's prefix cache is content-addressed: a block's
// hash chains the token ids of the whole prefix, whoever sent it. Every tau2 task of a domain
// opens with the same head (system prompt, domain policy, tool schemas), so the head's full
// blocks are one set of cached blocks for all the domain's programs: computed once, held
// once while any of them runs, and hit by a program's next call even after its own
// conversation was evicted. Conversation gives every program its own content; this rewrites
// the hashes of the blocks that lie wholly inside the head so that they depend only on the
// head (domain and length) and the block's position. Blocks past the head keep the
// program's own chain, so equal hashes still mean equal prefixes.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/hash.h"
#include "core/rng.h"
#include "workload/conversation.h"

namespace agentsched {

// The identity of a head: programs with the same domain and head length share it.
inline std::uint64_t shared_head_key(std::string_view domain, std::int32_t head_tokens) {
  return stable_hash64("head:" + std::string(domain) + ":" + std::to_string(head_tokens));
}

inline void share_head_blocks(RenderedPrompt& prompt, std::uint64_t head_key,
                              std::int32_t head_tokens, std::int32_t block_size) {
  if (block_size <= 0) return;
  const std::size_t full = static_cast<std::size_t>(head_tokens / block_size);
  std::uint64_t chain = head_key;
  for (std::size_t i = 0; i < full && i < prompt.block_hashes.size(); ++i) {
    chain = hash_combine(chain, 0x68656164ULL + i);  // "head"
    prompt.block_hashes[i] = chain;
  }
}

}  // namespace agentsched
