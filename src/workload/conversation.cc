#include "workload/conversation.h"

#include "core/rng.h"

namespace agentsched {

Conversation::Conversation(std::uint64_t salt, std::int32_t head_tokens, std::int32_t cap_tokens)
    : salt_(salt), cap_tokens_(cap_tokens) {
  // The head is shared by every program of a domain in reality too (same system prompt), but
  // each program gets its own salt: tasks differ from the first user message on, and the
  // head alone is cheap to recompute compared with a whole conversation. Keeping heads
  // distinct keeps the model conservative about cross-program reuse.
  messages_.push_back({mix64(salt_), head_tokens});
  full_tokens_ = head_tokens;
}

void Conversation::append(std::int32_t tokens) {
  if (tokens <= 0) return;
  messages_.push_back({hash_combine(salt_, messages_.size()), tokens});
  full_tokens_ += tokens;
}

std::vector<std::size_t> Conversation::selected_messages() const {
  // All messages if they fit; else head + first message + as many of the latest as fit
  // under the cap.
  std::vector<std::size_t> kept;
  if (full_tokens_ <= cap_tokens_ || messages_.size() <= 2) {
    for (std::size_t i = 0; i < messages_.size(); ++i) kept.push_back(i);
    return kept;
  }
  std::int64_t total = messages_[0].tokens + messages_[1].tokens;
  std::size_t first_tail = messages_.size();
  while (first_tail > 2 && total + messages_[first_tail - 1].tokens <= cap_tokens_) {
    --first_tail;
    total += messages_[first_tail].tokens;
  }
  if (first_tail == messages_.size()) --first_tail;  // always keep the newest message
  kept.push_back(0);
  kept.push_back(1);
  for (std::size_t i = first_tail; i < messages_.size(); ++i) kept.push_back(i);
  return kept;
}

RenderedPrompt Conversation::render(std::int32_t block_size) const {
  RenderedPrompt out;
  std::vector<const Message*> kept;
  for (std::size_t i : selected_messages()) kept.push_back(&messages_[i]);
  out.cut = full_tokens_ > cap_tokens_ && messages_.size() > 2;
  for (const Message* m : kept) out.tokens += m->tokens;
  out.block_hashes.reserve(static_cast<std::size_t>(out.tokens / block_size));

  // Walk the tokens block by block; a block's hash chains the previous block's hash with the
  // (message, offset, length) pieces it covers.
  std::uint64_t chain = 0x243f6a8885a308d3ULL;
  std::uint64_t block_acc = chain;
  std::int32_t filled = 0;
  for (const Message* m : kept) {
    std::int32_t offset = 0;
    while (offset < m->tokens) {
      const std::int32_t take = std::min(m->tokens - offset, block_size - filled);
      block_acc = hash_combine(block_acc, m->source ^ (static_cast<std::uint64_t>(offset) << 32) ^
                                              static_cast<std::uint64_t>(take));
      offset += take;
      filled += take;
      if (filled == block_size) {
        chain = hash_combine(chain, block_acc);
        out.block_hashes.push_back(chain);
        block_acc = chain;
        filled = 0;
      }
    }
  }
  return out;
}

}  // namespace agentsched
