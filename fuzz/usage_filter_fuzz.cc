// The router's usage-chunk stripping (http::UsageEventFilter, http/sse.h): an engine's event
// stream fed in pieces, the usage-only events taken out. The stream is fed whole and in a
// split chosen by its first byte, with a held-event limit chosen by its second byte; the
// output must not depend on the split, must equal the input minus its usage-only events
// (by a plain whole-input reference below), and must parse (SseParser) to a subsequence of
// the input's events.
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "http/json_scan.h"
#include "http/sse.h"

using namespace agentsched::http;

namespace {

std::string filter_of(const std::vector<std::string_view>& pieces, std::size_t max_held,
                      std::size_t& dropped) {
  UsageEventFilter filter(max_held);
  std::string out;
  for (std::string_view p : pieces) {
    filter.feed(p, out);
    FUZZ_CHECK(filter.pending_bytes() <= max_held);
  }
  filter.finish(out);
  FUZZ_CHECK(filter.pending_bytes() == 0);
  dropped = filter.dropped_events();
  return out;
}

// The same rules on the whole input at once: lines end with CRLF, LF or CR; an event ends
// with its blank line; usage-only events no longer than `max_held` are left out.
std::string reference(std::string_view s, std::size_t max_held, std::size_t& dropped) {
  std::string out;
  std::size_t begin = 0, i = 0;
  bool line_empty = true;
  dropped = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c != '\r' && c != '\n') {
      line_empty = false;
      ++i;
      continue;
    }
    i += (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ? 2 : 1;
    const bool blank = line_empty;
    line_empty = true;
    if (!blank) continue;
    const std::string_view event = s.substr(begin, i - begin);
    if (event.size() <= max_held && is_usage_only_chunk(event))
      ++dropped;
    else
      out += event;
    begin = i;
  }
  out += s.substr(begin);
  return out;
}

std::vector<std::string> events_of(std::string_view bytes) {
  std::vector<std::string> events;
  SseParser parser([&](std::string_view data) { events.emplace_back(data); });
  parser.feed(bytes);
  return events;
}

bool is_subsequence(const std::vector<std::string>& sub, const std::vector<std::string>& all) {
  std::size_t j = 0;
  for (const auto& e : all)
    if (j < sub.size() && sub[j] == e) ++j;
  return j == sub.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes = agentsched::fuzz::as_view(data, size);
  const std::uint32_t seed = agentsched::fuzz::take_seed(bytes);
  // Small limits exercise the pass-through of long events; 0 means the router's default.
  const std::uint32_t limit_byte = agentsched::fuzz::take_seed(bytes);
  const std::size_t max_held =
      limit_byte == 0 ? UsageEventFilter::kDefaultMaxHeldEvent : limit_byte * 4;
  const auto pieces = agentsched::fuzz::split(bytes, seed);

  std::size_t dropped_whole = 0, dropped_split = 0, dropped_reference = 0;
  const std::string whole = filter_of({bytes}, max_held, dropped_whole);
  FUZZ_CHECK(whole == filter_of(pieces, max_held, dropped_split));
  FUZZ_CHECK(dropped_whole == dropped_split);
  FUZZ_CHECK(whole == reference(bytes, max_held, dropped_reference));
  FUZZ_CHECK(dropped_whole == dropped_reference);
  FUZZ_CHECK(whole.size() <= bytes.size());
  if (dropped_whole == 0) FUZZ_CHECK(whole == bytes);
  // What a client parses is what it would have parsed, less some events.
  FUZZ_CHECK(is_subsequence(events_of(whole), events_of(bytes)));
  return 0;
}
