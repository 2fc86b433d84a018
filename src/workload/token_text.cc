#include "workload/token_text.h"

#include <array>
#include <string_view>

#include "core/rng.h"

namespace agentsched {

namespace {

// 64 four-byte words: one emulator token each.
constexpr std::array<std::string_view, 64> kWords = {
    "add ", "bat ", "cap ", "dig ", "ear ", "fir ", "gas ", "hop ", "ion ", "jaw ", "kid ",
    "lap ", "mop ", "nap ", "oar ", "pig ", "rib ", "sip ", "tap ", "urn ", "vat ", "wig ",
    "yes ", "zen ", "arm ", "bun ", "cot ", "dam ", "elm ", "fog ", "gin ", "hum ", "imp ",
    "jug ", "kin ", "lot ", "mat ", "nib ", "ore ", "pun ", "rim ", "sod ", "tin ", "vow ",
    "wok ", "yew ", "zap ", "ace ", "bog ", "cub ", "dye ", "eve ", "fad ", "gut ", "hem ",
    "icy ", "jot ", "keg ", "lag ", "nun ", "oat ", "pew ", "rag ", "sty "};

}  // namespace

void append_token_words(std::string& out, std::uint64_t seed, std::int64_t first,
                        std::int64_t count) {
  if (count <= 0) return;
  out.reserve(out.size() + static_cast<std::size_t>(count) * kTokenTextBytes);
  for (std::int64_t k = first; k < first + count; ++k)
    out += kWords[mix64(seed + static_cast<std::uint64_t>(k)) & 63];
}

void append_token_text(std::string& out, std::uint64_t salt, std::size_t index,
                       std::int32_t tokens) {
  append_token_words(out, hash_combine(salt, static_cast<std::uint64_t>(index)), 0, tokens);
}

std::string token_text(std::uint64_t salt, std::size_t index, std::int32_t tokens) {
  std::string out;
  append_token_text(out, salt, index, tokens);
  return out;
}

}  // namespace agentsched
