#include "http/json_scan.h"

#include <fmt/format.h>

#include <array>
#include <boost/json.hpp>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "http/request_fields.h"

namespace agentsched::http {

namespace json = boost::json;

namespace {

constexpr std::size_t npos = std::string_view::npos;

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::size_t skip_ws(std::string_view s, std::size_t i) {
  while (i < s.size() && is_ws(s[i])) ++i;
  return i;
}

// ---- Reference scanner: byte by byte (strings with memchr). Kept as the specification the
// block scanner below is tested against.

// s[i] == '"'; the index just past the closing quote, or npos.
std::size_t skip_string_scalar(std::string_view s, std::size_t i) {
  std::size_t p = i + 1;
  for (;;) {
    if (p >= s.size()) return npos;
    const void* q = std::memchr(s.data() + p, '"', s.size() - p);
    if (!q) return npos;
    const std::size_t k = static_cast<std::size_t>(static_cast<const char*>(q) - s.data());
    std::size_t b = k;
    while (b > i + 1 && s[b - 1] == '\\') --b;
    if (((k - b) & 1) == 0) return k + 1;
    p = k + 1;
  }
}

std::size_t skip_scalar_token(std::string_view s, std::size_t i) {
  std::size_t p = i;
  while (p < s.size() && !is_ws(s[p]) && s[p] != ',' && s[p] != '}' && s[p] != ']') ++p;
  return p == i ? npos : p;
}

std::size_t skip_value_scalar(std::string_view s, std::size_t i) {
  if (i >= s.size()) return npos;
  const char c = s[i];
  if (c == '"') return skip_string_scalar(s, i);
  if (c == '{' || c == '[') {
    std::size_t depth = 0;
    std::size_t p = i;
    while (p < s.size()) {
      const char d = s[p];
      if (d == '"') {
        p = skip_string_scalar(s, p);
        if (p == npos) return npos;
        continue;
      }
      if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) return p + 1;
      }
      ++p;
    }
    return npos;
  }
  return skip_scalar_token(s, i);
}

// ---- Block scanner: 64 bytes at a time, as simdjson finds string boundaries. Per block, bit
// masks of quotes, backslashes, opening and closing brackets; escaped characters from the
// backslash runs (branch-free); the bytes inside strings as a prefix XOR of the unescaped
// quotes; then only the few brackets outside strings are looked at one by one. Agent
// transcripts carry tool results as JSON inside strings (an escaped quote every few dozen
// bytes), where a memchr per quote costs three times as much.

struct BlockMasks {
  std::uint64_t quote = 0, backslash = 0, open = 0, close = 0;
};

// Masks of the 64 bytes at p.
BlockMasks block_masks(const char* p) {
  BlockMasks m;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  // '[' and '{' differ only in bit 0x20, as do ']' and '}'.
  const __m128i open = _mm_set1_epi8('{');
  const __m128i close = _mm_set1_epi8('}');
  const __m128i bit5 = _mm_set1_epi8(0x20);
  for (int k = 0; k < 4; ++k) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    const __m128i v5 = _mm_or_si128(v, bit5);
    const auto mask = [&](__m128i x, __m128i c) {
      return static_cast<std::uint64_t>(
                 static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, c))))
             << (16 * k);
    };
    m.quote |= mask(v, quote);
    m.backslash |= mask(v, backslash);
    m.open |= mask(v5, open);
    m.close |= mask(v5, close);
  }
#else
  for (int j = 0; j < 64; ++j) {
    const std::uint64_t bit = std::uint64_t{1} << j;
    const char c = p[j];
    if (c == '"') m.quote |= bit;
    if (c == '\\') m.backslash |= bit;
    if (c == '{' || c == '[') m.open |= bit;
    if (c == '}' || c == ']') m.close |= bit;
  }
#endif
  return m;
}

// Bit j set: bytes 0..j hold an odd number of set bits of x.
std::uint64_t prefix_xor(std::uint64_t x) {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

// Walks the 64-byte blocks of s from `from`; the last partial block is read from a copy
// padded with spaces. `visit(base, masks)` returns true to stop.
template <typename Visit>
void for_each_block(std::string_view s, std::size_t from, Visit&& visit) {
  for (std::size_t base = from; base < s.size(); base += 64) {
    if (s.size() - base >= 64) {
      if (visit(base, block_masks(s.data() + base))) return;
    } else {
      char tail[64];
      std::memset(tail, ' ', sizeof tail);
      std::memcpy(tail, s.data() + base, s.size() - base);
      visit(base, block_masks(tail));
      return;
    }
  }
}

std::size_t skip_string_blocks(std::string_view s, std::size_t i) {
  std::uint64_t carry = 0;
  std::size_t end = npos;
  bool first = true;
  for_each_block(s, i, [&](std::size_t base, const BlockMasks& m) {
    std::uint64_t q = m.quote & ~detail::escaped_bits(m.backslash, carry);
    if (first) q &= ~std::uint64_t{1};  // the opening quote
    first = false;
    if (!q) return false;
    const std::size_t at = base + static_cast<std::size_t>(__builtin_ctzll(q));
    end = at < s.size() ? at + 1 : npos;
    return true;
  });
  return end;
}

std::size_t skip_container_blocks(std::string_view s, std::size_t i) {
  std::uint64_t carry = 0;
  std::uint64_t in_string = 0;  // all ones when the previous block ended inside a string
  std::size_t depth = 0;
  std::size_t end = npos;
  for_each_block(s, i, [&](std::size_t base, const BlockMasks& m) {
    const std::uint64_t q = m.quote & ~detail::escaped_bits(m.backslash, carry);
    const std::uint64_t inside = prefix_xor(q) ^ in_string;
    in_string = static_cast<std::uint64_t>(static_cast<std::int64_t>(inside) >> 63);
    const std::uint64_t open = m.open & ~inside;
    std::uint64_t brackets = (m.open | m.close) & ~inside;
    while (brackets) {
      const int at = __builtin_ctzll(brackets);
      if (open >> at & 1) {
        ++depth;
      } else if (--depth == 0) {
        const std::size_t pos = base + static_cast<std::size_t>(at);
        end = pos < s.size() ? pos + 1 : npos;
        return true;
      }
      brackets &= brackets - 1;
    }
    return false;
  });
  return end;
}

// The index just past the value starting at s[i], or npos.
std::size_t skip_string(std::string_view s, std::size_t i) {
  return skip_string_blocks(s, i);
}

std::size_t skip_value(std::string_view s, std::size_t i) {
  if (i >= s.size()) return npos;
  const char c = s[i];
  if (c == '"') return skip_string_blocks(s, i);
  if (c == '{' || c == '[') return skip_container_blocks(s, i);
  return skip_scalar_token(s, i);
}

constexpr std::array<std::string_view, 7> kFields = {
    "job_id", "program_id", "extra_body", "vllm_xargs", "is_last_step", "stream", "stream_options"};
constexpr std::size_t kStreamOptions = 6;

bool truthy(const json::value* v) {
  if (!v) return false;
  if (const auto* b = v->if_bool()) return *b;
  if (const auto* i = v->if_int64()) return *i != 0;
  if (const auto* u = v->if_uint64()) return *u != 0;
  if (const auto* s = v->if_string()) return *s == "true" || *s == "True" || *s == "1";
  return false;
}

void fill_from_object(const json::object& o, std::string_view session_header,
                      ChatRequestScan& out) {
  out.program_id = extract_program_id(o, session_header);
  out.is_last_step = extract_is_last_step(o);
  out.stream = truthy(o.if_contains("stream"));
  if (const json::value* so = o.if_contains("stream_options"))
    if (const auto* so_obj = so->if_object())
      out.include_usage = truthy(so_obj->if_contains("include_usage"));
}

Result<ChatRequestScan> full_parse(std::string_view body, std::string_view session_header) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return make_error(fmt::format("request body is not valid JSON: {}", ec.message()));
  if (!v.is_object()) return make_error("request body must be a JSON object");
  ChatRequestScan out;
  out.full_parse = true;
  fill_from_object(v.as_object(), session_header, out);
  return out;
}

}  // namespace

namespace detail {

std::uint64_t escaped_bits(std::uint64_t backslash, std::uint64_t& carry) {
  // simdjson's find_escaped_branchless: within a run of backslashes every other one escapes
  // the next byte, counted from the run's start; runs starting on odd and on even bits are
  // told apart with one addition.
  backslash &= ~carry;  // a backslash escaped by the previous block escapes nothing
  const std::uint64_t follows_escape = backslash << 1 | carry;
  constexpr std::uint64_t kEvenBits = 0x5555555555555555ULL;
  const std::uint64_t odd_sequence_starts = backslash & ~kEvenBits & ~follows_escape;
  std::uint64_t sequences_starting_on_even_bits = 0;
  carry = __builtin_add_overflow(odd_sequence_starts, backslash, &sequences_starting_on_even_bits)
              ? 1
              : 0;
  const std::uint64_t invert_mask = sequences_starting_on_even_bits << 1;
  return (kEvenBits ^ invert_mask) & follows_escape;
}

std::size_t skip_json_value(std::string_view s, std::size_t i) {
  return skip_value(s, i);
}

std::size_t skip_json_value_reference(std::string_view s, std::size_t i) {
  return skip_value_scalar(s, i);
}

}  // namespace detail

Result<ChatRequestScan> scan_chat_request(std::string_view body, std::string_view session_header) {
  std::size_t i = skip_ws(body, 0);
  if (i >= body.size()) return make_error("request body is empty; expected a JSON object");
  if (body[i] != '{') return make_error("request body must be a JSON object");
  ChatRequestScan out;
  out.object_begin = i;
  std::array<std::pair<std::size_t, std::size_t>, kFields.size()> spans{};
  std::array<bool, kFields.size()> present{};
  const auto malformed = [&](std::size_t at) {
    return make_error(fmt::format("request body is not valid JSON (at byte {})", at));
  };
  i = skip_ws(body, i + 1);
  if (i < body.size() && body[i] == '}') {
    ++i;
  } else {
    for (;;) {
      if (i >= body.size() || body[i] != '"') return malformed(i);
      const std::size_t key_end = skip_string(body, i);
      if (key_end == npos) return malformed(i);
      const std::string_view key = body.substr(i + 1, key_end - i - 2);
      if (key.find('\\') != npos) return full_parse(body, session_header);
      i = skip_ws(body, key_end);
      if (i >= body.size() || body[i] != ':') return malformed(i);
      i = skip_ws(body, i + 1);
      const std::size_t value_end = skip_value(body, i);
      if (value_end == npos) return malformed(i);
      for (std::size_t f = 0; f < kFields.size(); ++f)
        if (key == kFields[f]) {
          spans[f] = {i, value_end};
          present[f] = true;  // the last duplicate wins, as in Python's json
        }
      i = skip_ws(body, value_end);
      if (i < body.size() && body[i] == ',') {
        i = skip_ws(body, i + 1);
        continue;
      }
      if (i < body.size() && body[i] == '}') {
        ++i;
        break;
      }
      return malformed(i);
    }
  }
  if (skip_ws(body, i) != body.size()) return malformed(skip_ws(body, i));

  // The few members that matter, parsed into a small object on the stack.
  unsigned char storage[4096];
  json::monotonic_resource mr(storage, sizeof storage);
  json::object fields(&mr);
  for (std::size_t f = 0; f < kFields.size(); ++f) {
    if (!present[f]) continue;
    const auto [b, e] = spans[f];
    boost::system::error_code ec;
    json::value v = json::parse(body.substr(b, e - b), ec, &mr);
    if (ec)
      return make_error(
          fmt::format("request body is not valid JSON: field '{}': {}", kFields[f], ec.message()));
    fields[kFields[f]] = std::move(v);
  }
  fill_from_object(fields, session_header, out);
  if (present[kStreamOptions]) out.stream_options = spans[kStreamOptions];
  return out;
}

namespace {

// Boost.JSON reads a number beyond the double range (1e400) as infinity and writes it back as
// `Infinity`, which is not JSON: rather than forward a broken body, leave it unedited.
std::optional<BodyEdit> valid_edit(BodyEdit edit) {
  boost::system::error_code ec;
  json::parse(edit.text, ec);
  if (ec) return std::nullopt;
  return edit;
}

}  // namespace

std::optional<BodyEdit> include_usage_edit(std::string_view body, const ChatRequestScan& scan) {
  if (!scan.stream || scan.include_usage) return std::nullopt;
  if (scan.full_parse) {
    // Rare (escaped top-level keys): rewrite the whole body.
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) return std::nullopt;
    json::object& o = v.as_object();
    json::value& so = o["stream_options"];
    if (!so.is_object()) so = json::object();
    so.as_object()["include_usage"] = true;
    return valid_edit(BodyEdit{0, body.size(), json::serialize(v)});
  }
  if (!scan.stream_options) {
    // `stream` is a member, so the object is not empty and a comma can follow.
    return BodyEdit{scan.object_begin + 1, scan.object_begin + 1,
                    R"("stream_options":{"include_usage":true},)"};
  }
  const auto [b, e] = *scan.stream_options;
  boost::system::error_code ec;
  json::value v = json::parse(body.substr(b, e - b), ec);
  if (ec || !v.is_object()) v = json::object();
  v.as_object()["include_usage"] = true;
  return valid_edit(BodyEdit{b, e, json::serialize(v)});
}

namespace {

// After `key` (with quotes) at some position in `s`: whitespace, ':', whitespace, then
// `next`? Checks every occurrence of the key.
bool key_followed_by(std::string_view s, std::string_view key, std::string_view next) {
  for (std::size_t p = s.find(key); p != npos; p = s.find(key, p + 1)) {
    std::size_t i = skip_ws(s, p + key.size());
    if (i >= s.size() || s[i] != ':') continue;
    i = skip_ws(s, i + 1);
    bool ok = true;
    for (char c : next) {
      i = skip_ws(s, i);
      if (i >= s.size() || s[i] != c) {
        ok = false;
        break;
      }
      ++i;
    }
    if (ok) return true;
  }
  return false;
}

}  // namespace

bool is_usage_only_chunk(std::string_view event) {
  return key_followed_by(event, R"("choices")", "[]") && key_followed_by(event, R"("usage")", "{");
}

void UsageScanner::feed(std::string_view bytes) {
  // Keys and numbers are short: a window this long around each boundary covers any split.
  constexpr std::size_t kWindow = 64;
  if (!tail_.empty() && !bytes.empty()) {
    char joint[2 * kWindow];
    const std::size_t head = std::min(bytes.size(), kWindow);
    std::memcpy(joint, tail_.data(), tail_.size());
    std::memcpy(joint + tail_.size(), bytes.data(), head);
    scan(std::string_view(joint, tail_.size() + head));
  }
  scan(bytes);
  if (bytes.size() >= kWindow) {
    tail_.assign(bytes.substr(bytes.size() - kWindow));
  } else {
    tail_.append(bytes);
    if (tail_.size() > kWindow) tail_.erase(0, tail_.size() - kWindow);
  }
}

void UsageScanner::scan(std::string_view s) {
  static constexpr std::string_view kSuffix = "_tokens\"";
  std::size_t p = 0;
  while (p < s.size()) {
    const void* q = memmem(s.data() + p, s.size() - p, kSuffix.data(), kSuffix.size());
    if (!q) return;
    const std::size_t k = static_cast<std::size_t>(static_cast<const char*>(q) - s.data());
    p = k + kSuffix.size();
    const std::string_view before = s.substr(0, k);
    std::optional<std::int64_t>* target = nullptr;
    if (before.ends_with("\"prompt"))
      target = &prompt_tokens;
    else if (before.ends_with("\"completion"))
      target = &completion_tokens;
    else if (before.ends_with("\"total"))
      target = &total_tokens;
    else if (before.ends_with("\"cached"))
      target = &cached_tokens;
    if (!target) continue;
    std::size_t i = skip_ws(s, p);
    if (i >= s.size() || s[i] != ':') continue;
    i = skip_ws(s, i + 1);
    std::int64_t n = 0;
    std::size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 18) {
      n = n * 10 + (s[i] - '0');
      ++i;
      ++digits;
    }
    // A number cut off by the end of this piece is read again across the boundary.
    if (digits == 0 || i >= s.size() || (s[i] >= '0' && s[i] <= '9')) continue;
    *target = n;
  }
}

}  // namespace agentsched::http
