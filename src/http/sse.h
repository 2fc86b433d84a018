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

}  // namespace agentsched::http
