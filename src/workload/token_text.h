#pragma once
// The one encoding of a conversation's token counts as text, for clients that send real
// messages (the live driver, the trace replay of the tests): message `index` of the program
// with text salt `salt` is `tokens` 4-byte words (three letters and a space) chosen by a hash
// of (salt, index, position) -- one token each for the engine emulator (4 bytes per token)
// and about one each for real tokenizers. The same message is the same text in every process
// and run, and a shorter message is a prefix of a longer one with the same salt and index, so
// prompts that share messages share their leading text -- and so their prefix-cache blocks --
// exactly where the simulator's rendered prompts share block hashes.
#include <cstddef>
#include <cstdint>
#include <string>

namespace agentsched {

inline constexpr std::int32_t kTokenTextBytes = 4;

// Appends the text of message `index` to `out`; nothing for tokens <= 0.
void append_token_text(std::string& out, std::uint64_t salt, std::size_t index,
                       std::int32_t tokens);
std::string token_text(std::uint64_t salt, std::size_t index, std::int32_t tokens);

// The words under both: words `first` to `first + count - 1` of the run seeded by `seed`.
// Pieces of one run join to the whole, so the engine emulator streams its generated text
// (seeded per request) in chunks with it; token_text is the run of hash(salt, index) from 0.
void append_token_words(std::string& out, std::uint64_t seed, std::int64_t first,
                        std::int64_t count);

}  // namespace agentsched
