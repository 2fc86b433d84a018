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

  // The messages the prompt keeps, as indices in append order (0 is the head): all of them
  // under the cap, else the cut render() makes. For clients that send real message text
  // (the live driver), so their prompts are cut exactly as the simulator's.
  std::vector<std::size_t> selected_messages() const;
  std::size_t num_messages() const { return messages_.size(); }
  std::int32_t message_tokens(std::size_t index) const { return messages_[index].tokens; }

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
