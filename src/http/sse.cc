#include "http/sse.h"

namespace agentsched::http {

void append_sse_event(std::string& out, std::string_view payload) {
  for (;;) {
    const std::size_t nl = payload.find('\n');
    out += "data: ";
    out += payload.substr(0, nl);
    out += '\n';
    if (nl == std::string_view::npos) break;
    payload.remove_prefix(nl + 1);
  }
  out += '\n';
}

std::string sse_event(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 8);
  append_sse_event(out, payload);
  return out;
}

void SseParser::feed(std::string_view bytes) {
  for (char c : bytes) {
    if (c == '\n' && last_was_cr_) {  // the LF of a CRLF pair
      last_was_cr_ = false;
      continue;
    }
    last_was_cr_ = c == '\r';
    if (c == '\r' || c == '\n') {
      line(line_);
      line_.clear();
    } else {
      line_ += c;
    }
  }
}

void SseParser::line(std::string_view l) {
  if (l.empty()) {  // blank line: dispatch
    if (has_data_) on_event_(data_);
    data_.clear();
    has_data_ = false;
    return;
  }
  if (l.front() == ':') return;
  const std::size_t colon = l.find(':');
  const std::string_view name = l.substr(0, colon);
  std::string_view value =
      colon == std::string_view::npos ? std::string_view() : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (name != "data") return;
  if (has_data_) data_ += '\n';
  data_ += value;
  has_data_ = true;
}

}  // namespace agentsched::http
