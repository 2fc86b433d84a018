#include "http/sse.h"

#include "http/json_scan.h"

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

void UsageEventFilter::complete_event(std::size_t begin, std::size_t end, std::string& out) {
  const std::string_view event(held_.data() + begin, end - begin);
  // An event that was passing has been written in part already: its end must follow.
  if (passing_ || event.size() > max_held_ || !is_usage_only_chunk(event))
    out.append(event);
  else
    ++dropped_;
  passing_ = false;
}

void UsageEventFilter::feed(std::string_view bytes, std::string& out) {
  held_.append(bytes);
  std::size_t begin = 0;  // start of the event in progress within held_
  std::size_t i = scanned_;
  const std::size_t n = held_.size();
  while (i < n) {
    const char c = held_[i];
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') {  // the LF of a CRLF line end
        ++i;
        if (end_after_cr_) {
          end_after_cr_ = false;
          complete_event(begin, i, out);
          begin = i;
        }
        continue;
      }
      if (end_after_cr_) {  // a lone CR ended the blank line
        end_after_cr_ = false;
        complete_event(begin, i, out);
        begin = i;
      }
    }
    if (c == '\r' || c == '\n') {
      const bool blank = line_empty_;
      line_empty_ = true;
      ++i;
      if (c == '\r') {
        after_cr_ = true;
        end_after_cr_ = blank;
      } else if (blank) {
        complete_event(begin, i, out);
        begin = i;
      }
      continue;
    }
    line_empty_ = false;
    const std::size_t next = held_.find_first_of("\r\n", i + 1);
    i = next == std::string::npos ? n : next;
  }
  // What is left is part of an unfinished event: it streams on if the event has outgrown
  // the limit (or already had), else it waits.
  if (passing_ || n - begin > max_held_) {
    passing_ = true;
    out.append(held_, begin, std::string::npos);
    begin = n;
  }
  held_.erase(0, begin);
  scanned_ = held_.size();
}

void UsageEventFilter::finish(std::string& out) {
  if (after_cr_ && end_after_cr_)
    complete_event(0, held_.size(), out);
  else
    out.append(held_);
  held_.clear();
  scanned_ = 0;
  line_empty_ = true;
  after_cr_ = false;
  end_after_cr_ = false;
  passing_ = false;
}

}  // namespace agentsched::http
