#pragma once
// The engine emulator's reading of an OpenAI chat-completion request, and its conventions
// for turning text into engine tokens: a token is 4 bytes of message text, and a prompt's
// KV blocks (16 tokens = 64 bytes) are identified by a hash chained over that text, so a
// prompt that extends an earlier one shares its leading block hashes, as in vLLM.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "workload/token_text.h"

namespace agentsched::serve {

// The emulator counts a token per 4 bytes of text, the width of the words clients write.
inline constexpr std::int64_t kBytesPerToken = kTokenTextBytes;

struct ChatRequest {
  std::string model;  // "" when not given
  // The text the prompt is made of: every message's content (string or text parts) and the
  // name and arguments of assistant tool calls, concatenated in order.
  std::string prompt_text;
  std::int64_t prompt_tokens = 0;
  std::optional<std::int64_t> max_tokens;  // max_completion_tokens, else max_tokens
  std::int64_t min_tokens = 0;
  bool ignore_eos = false;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::string program_id;      // see http/request_fields.h
  bool is_last_step = false;
  std::string next_tool;
};

// Parses and validates a request body. Errors name the offending field, in the words vLLM
// uses where it has them; the server answers them with 400.
Result<ChatRequest> parse_chat_request(std::string_view body, std::string_view session_header);

// ceil(bytes / 4), at least 1: every real chat template adds tokens even to empty messages.
std::int64_t tokens_for_text(std::size_t bytes);

// Chained hashes of the full 64-byte blocks of `text` (block i covers bytes [64i, 64i+64)).
std::vector<std::uint64_t> prompt_block_hashes(std::string_view text);

// Stable 64-bit key of a program id; 0 (no program) for "".
std::uint64_t program_key(std::string_view program_id);

// `count` tokens of deterministic filler text starting at token `first`: the 4-byte words of
// workload/token_text.h chosen by `seed`, so equal prompts get equal answers and clients can
// send the text back in the next turn.
std::string filler_text(std::uint64_t seed, std::int64_t first, std::int64_t count);
void append_filler_text(std::string& out, std::uint64_t seed, std::int64_t first,
                        std::int64_t count);

// FNV-1a, the byte hash under the block hashes and program keys.
std::uint64_t hash_bytes(std::string_view bytes);

}  // namespace agentsched::serve
