// HTTP/1.1 request and response heads (http/http1_parse.h), as the router parses them from
// client and engine sockets. Besides memory safety it checks that every view points into the
// input, that bytes after the head change nothing, and that a cut head is incomplete.
#include <string>

#include "fuzz_util.h"
#include "http/http1_parse.h"

namespace {

using agentsched::fuzz::within;
using namespace agentsched::http;

void check_head(std::string_view bytes, bool request) {
  const auto parse = request ? parse_request_head : parse_response_head;
  HeadLimits limits;
  limits.max_head_bytes = 4096;
  limits.max_fields = 16;
  MessageHead head;
  std::string_view error;
  const ParseResult r = parse(bytes, head, error, limits);
  if (r == ParseResult::kError) {
    FUZZ_CHECK(!error.empty());
    return;
  }
  if (r == ParseResult::kIncomplete) {
    FUZZ_CHECK(bytes.size() <= limits.max_head_bytes);
    return;
  }
  FUZZ_CHECK(head.head_size > 0 && head.head_size <= bytes.size());
  FUZZ_CHECK(head.head_size <= limits.max_head_bytes);
  FUZZ_CHECK(head.headers.size() <= limits.max_fields);
  const std::string_view head_bytes = bytes.substr(0, head.head_size);
  FUZZ_CHECK(within(head.method, head_bytes) && within(head.target, head_bytes));
  FUZZ_CHECK(within(head.reason, head_bytes));
  for (const auto& f : head.headers) {
    FUZZ_CHECK(!f.name.empty() && within(f.name, head_bytes) && within(f.value, head_bytes));
    FUZZ_CHECK(head.field(f.name).has_value());
  }
  if (request) {
    FUZZ_CHECK(!head.method.empty() && !head.target.empty());
    // Request smuggling: never both framings.
    FUZZ_CHECK(!(head.chunked && head.content_length));
  } else {
    FUZZ_CHECK(head.status >= 0 && head.status <= 999);
    FUZZ_CHECK(!(head.chunked && head.content_length));
  }

  // The head alone parses the same.
  MessageHead alone;
  std::string_view error2;
  FUZZ_CHECK(parse(head_bytes, alone, error2, limits) == ParseResult::kComplete);
  FUZZ_CHECK(alone.head_size == head.head_size && alone.headers.size() == head.headers.size());
  FUZZ_CHECK(alone.content_length == head.content_length && alone.chunked == head.chunked &&
             alone.keep_alive == head.keep_alive && alone.status == head.status &&
             alone.expect_continue == head.expect_continue);
  // Every cut of it is incomplete (checked at a few cut points).
  for (std::size_t cut : {head.head_size - 1, head.head_size / 2, std::size_t{1}}) {
    if (cut >= head.head_size) continue;
    FUZZ_CHECK(parse(head_bytes.substr(0, cut), alone, error2, limits) == ParseResult::kIncomplete);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes = agentsched::fuzz::as_view(data, size);
  check_head(bytes, true);
  check_head(bytes, false);
  return 0;
}
