#pragma once
// Targeted JSON scanning for a proxy that must not parse every 40 KB chat request in full.
//
// scan_chat_request walks only the top level of the body: strings, arrays and objects are
// skipped 64 bytes at a time (bit masks of quotes, backslashes and brackets, escapes and
// string interiors computed branch-free, as simdjson does), and just the few members the
// router needs
// (job_id, program_id, extra_body, vllm_xargs, is_last_step, stream, stream_options) are
// parsed, with Boost.JSON, and handed to the same extraction rules as request_fields.h. The
// scan checks the top-level structure (members, separators, nothing after the object) but
// not what it skips (escapes, numbers inside messages): the engine validates that, as it
// would without a router. A top-level key written with escapes makes it fall back to a full
// parse.
//
// UsageScanner reads token usage out of a response body or SSE stream as it streams past,
// in any split, without buffering it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace agentsched::http {

struct ChatRequestScan {
  std::string program_id;  // extract_program_id rules; "" when none
  bool is_last_step = false;
  bool stream = false;         // `stream` is true (or "true"/1)
  bool include_usage = false;  // `stream_options.include_usage` is true
  // Where the request can be edited in place.
  std::size_t object_begin = 0;                                       // index of the root '{'
  std::optional<std::pair<std::size_t, std::size_t>> stream_options;  // value span [b, e)
  bool full_parse = false;  // the targeted scan fell back to parsing the whole body
};

// Fails (with a message for a 400 answer) when the body is not a JSON object.
Result<ChatRequestScan> scan_chat_request(std::string_view body, std::string_view session_header);

// Replace body[begin, end) with `text`.
struct BodyEdit {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string text;
};

// The edit that makes a streaming request ask for usage in its stream
// (`stream_options.include_usage: true`), keeping every other byte: a new member inserted
// after the root '{', or the stream_options value rewritten. nullopt when none is needed, or
// when the rewritten part holds a number beyond the double range (the edit would not be JSON).
std::optional<BodyEdit> include_usage_edit(std::string_view body, const ChatRequestScan& scan);

// True for an SSE event (its bytes, with or without the `data: ` prefix) that is the usage
// chunk of an OpenAI stream: `"choices":[]` and a `"usage":{...}` object.
bool is_usage_only_chunk(std::string_view event);

// Finds `"prompt_tokens":N`, `"completion_tokens":N`, `"total_tokens":N` and
// `"cached_tokens":N` (vLLM's usage.prompt_tokens_details, with
// --enable-prompt-tokens-details) in bytes fed piece by piece; the last occurrence of each wins
// (streams with continuous usage repeat them). A key inside a JSON string cannot match: its quotes
// would be escaped.
namespace detail {
// Exposed for tests. The index just past the JSON value starting at s[i] (npos when it does
// not end), by the 64-byte block scanner and by the byte-by-byte reference it must agree
// with; and the escaped-byte mask of one block (bit j: byte j follows an escaping
// backslash) given its backslash mask and `carry`, the previous block's trailing escape.
std::size_t skip_json_value(std::string_view s, std::size_t i);
std::size_t skip_json_value_reference(std::string_view s, std::size_t i);
std::uint64_t escaped_bits(std::uint64_t backslash, std::uint64_t& carry);
}  // namespace detail

class UsageScanner {
 public:
  void feed(std::string_view bytes);
  void reset() { *this = UsageScanner(); }

  std::optional<std::int64_t> prompt_tokens;
  std::optional<std::int64_t> completion_tokens;
  std::optional<std::int64_t> total_tokens;
  std::optional<std::int64_t> cached_tokens;

 private:
  void scan(std::string_view bytes);
  std::string tail_;  // the last bytes of the previous piece, for keys split across pieces
};

}  // namespace agentsched::http
