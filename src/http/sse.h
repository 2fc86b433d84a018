#pragma once
// Server-sent events as OpenAI-compatible servers stream them: `data: <json>\n\n` per event,
// ending with `data: [DONE]\n\n`.
#include <functional>
#include <string>
#include <string_view>

namespace agentsched::http {

inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

// One event carrying `payload`; a payload with newlines becomes several `data:` lines.
std::string sse_event(std::string_view payload);
// Appends the event to `out` (to batch several events into one write).
void append_sse_event(std::string& out, std::string_view payload);

// Incremental parser of an event stream: feed bytes as they arrive, in any split; each
// complete event's data (its `data:` lines joined by '\n') is passed to the callback.
// Comments (`:`), `event:`/`id:`/`retry:` fields and CR/LF/CRLF line ends are handled.
class SseParser {
 public:
  using OnEvent = std::function<void(std::string_view data)>;
  explicit SseParser(OnEvent on_event) : on_event_(std::move(on_event)) {}
  void feed(std::string_view bytes);
  // Bytes received that do not (yet) form a complete line.
  std::size_t pending_bytes() const { return line_.size(); }

 private:
  void line(std::string_view line);

  OnEvent on_event_;
  std::string line_;
  std::string data_;
  bool has_data_ = false;
  bool last_was_cr_ = false;
};

// Removes the usage-only chunk (`"choices":[]` with a `"usage"` object, is_usage_only_chunk)
// from an event stream fed in pieces as they arrive, in any split; every other byte passes
// unchanged. The router uses it when it asked the engine for usage on the client's behalf.
//
// An event is the bytes up to and including the blank line that ends it, by the SSE line
// rules (a line ends with CRLF, LF or CR; a CR at the end of a piece waits for the next one
// to tell CR from CRLF). Whole events are appended to the output, the usage-only ones left
// out; bytes of an unfinished event are held. An event longer than `max_held_event` bytes is
// never dropped: once that many of its bytes are held, they and the rest of it pass as they
// arrive, so one endless event cannot make the holder grow without bound. finish() ends the
// stream: an event completed by a final CR is filtered, and what is left of an unfinished
// one is appended as it is.
//
// The output is therefore the input minus the usage-only events of at most `max_held_event`
// bytes, whatever the split (fuzz/usage_filter_fuzz.cc checks exactly that).
class UsageEventFilter {
 public:
  static constexpr std::size_t kDefaultMaxHeldEvent = 64 * 1024;
  explicit UsageEventFilter(std::size_t max_held_event = kDefaultMaxHeldEvent)
      : max_held_(max_held_event) {}

  void feed(std::string_view bytes, std::string& out);
  void finish(std::string& out);
  // Bytes held back: the unfinished event (none while one is passing through).
  std::size_t pending_bytes() const { return held_.size(); }
  // Usage-only events left out so far.
  std::size_t dropped_events() const { return dropped_; }

 private:
  // Appends held_[begin, end), one whole event, unless it is a usage-only chunk.
  void complete_event(std::size_t begin, std::size_t end, std::string& out);

  std::size_t max_held_;
  std::string held_;           // the bytes of the event in progress (while held)
  std::size_t scanned_ = 0;    // bytes of held_ already looked at
  bool line_empty_ = true;     // no byte yet on the current line
  bool after_cr_ = false;      // the last byte was a CR ending a line (an LF may follow)
  bool end_after_cr_ = false;  // ... and that line was blank: the event ends there
  bool passing_ = false;       // the event in progress outgrew max_held_ and streams out
  std::size_t dropped_ = 0;
};

}  // namespace agentsched::http
