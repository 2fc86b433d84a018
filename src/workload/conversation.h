#pragma once
// A program's conversation as the orchestrator's prompt: a fixed head (system prompt, policy,
// tool schemas) followed by messages appended turn by turn. Each message has its own content
// identity, so two prompts share a block hash exactly when they share the token prefix up to
// that block. Past the prompt cap the middle messages are cut (head, first message and the
// latest messages kept), so the prompt stops being an extension of the previous one.
#include <cstdint>
#include <vector>

namespace agentsched {

struct RenderedPrompt {
  std::int64_t tokens = 0;
  std::vector<std::uint64_t> block_hashes;  // chained, one per full block
  bool cut = false;                         // middle messages were dropped
};

class Conversation {
 public:
  // `salt` makes this program's content distinct from every other program's.
  Conversation(std::uint64_t salt, std::int32_t head_tokens, std::int32_t cap_tokens);
  void append(std::int32_t tokens);
  RenderedPrompt render(std::int32_t block_size) const;
  std::int64_t full_tokens() const { return full_tokens_; }

 private:
  struct Message {
    std::uint64_t source;
    std::int32_t tokens;
  };
  std::uint64_t salt_;
  std::int32_t cap_tokens_;
  std::vector<Message> messages_;  // [0] is the head
  std::int64_t full_tokens_ = 0;
};

}  // namespace agentsched
