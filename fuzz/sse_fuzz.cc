// Server-sent events as the router relays them from an engine (http/sse.h, http/json_scan.h):
// the SSE parser, the usage-only-chunk test, and the usage scanner that reads token counts
// out of a stream as it passes. The stream is fed whole and in a split chosen by its first
// byte; events and usage must not depend on the split. Each event also round-trips through
// sse_event.
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "http/json_scan.h"
#include "http/sse.h"

using namespace agentsched::http;

namespace {

std::vector<std::string> events_of(const std::vector<std::string_view>& pieces) {
  std::vector<std::string> events;
  SseParser parser([&](std::string_view data) { events.emplace_back(data); });
  for (std::string_view p : pieces) parser.feed(p);
  return events;
}

UsageScanner usage_of(const std::vector<std::string_view>& pieces) {
  UsageScanner scanner;
  for (std::string_view p : pieces) scanner.feed(p);
  return scanner;
}

// The scanner looks across piece boundaries through a 64-byte window, enough for a usage
// key, its number and the blanks JSON writers put between them, not for arbitrarily long runs
// of blanks.
bool short_blank_runs(std::string_view s) {
  std::size_t run = 0;
  for (char c : s) {
    run = (c == ' ' || c == '\t' || c == '\r' || c == '\n') ? run + 1 : 0;
    if (run > 12) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes = agentsched::fuzz::as_view(data, size);
  const std::uint32_t seed = agentsched::fuzz::take_seed(bytes);
  const auto pieces = agentsched::fuzz::split(bytes, seed);

  const auto whole = events_of({bytes});
  FUZZ_CHECK(whole == events_of(pieces));
  for (const std::string& event : whole) {
    (void)is_usage_only_chunk(event);
    FUZZ_CHECK(event.find('\r') == std::string::npos);
    const auto again = events_of({sse_event(event)});
    FUZZ_CHECK(again.size() == 1 && again[0] == event);
  }

  const UsageScanner a = usage_of({bytes});
  const UsageScanner b = usage_of(pieces);
  if (short_blank_runs(bytes)) {
    FUZZ_CHECK(a.prompt_tokens == b.prompt_tokens);
    FUZZ_CHECK(a.completion_tokens == b.completion_tokens);
    FUZZ_CHECK(a.total_tokens == b.total_tokens);
  }
  for (const auto& v : {a.prompt_tokens, a.completion_tokens, a.total_tokens})
    if (v) FUZZ_CHECK(*v >= 0);
  return 0;
}
