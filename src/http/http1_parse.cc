#include "http/http1_parse.h"

#include <cstring>

namespace agentsched::http {

namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 7230 tchar: what a method or a field name may contain.
bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_token_char(c)) return false;
  return true;
}

// Calls f(token) for each comma-separated element of a list-valued field.
template <typename F>
void for_each_element(std::string_view value, F&& f) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    f(trim(value.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

bool parse_version(std::string_view v, int& minor) {
  if (v.size() != 8 || v.substr(0, 7) != "HTTP/1." || v[7] < '0' || v[7] > '9') return false;
  minor = v[7] - '0';
  return true;
}

// End of the head (index just past the blank line), or npos. Lines may end in CRLF or LF.
std::size_t head_end(std::string_view bytes) {
  std::size_t pos = 0;
  for (;;) {
    const auto nl = bytes.find('\n', pos);
    if (nl == std::string_view::npos) return std::string_view::npos;
    // A blank line: "\n\n" or "\n\r\n" (or the very first line being blank, which the
    // caller rejects as a bad start line).
    if (nl + 1 < bytes.size() && bytes[nl + 1] == '\n') return nl + 2;
    if (nl + 2 < bytes.size() && bytes[nl + 1] == '\r' && bytes[nl + 2] == '\n') return nl + 3;
    if (nl + 1 >= bytes.size() || (nl + 2 >= bytes.size() && bytes[nl + 1] == '\r'))
      return std::string_view::npos;
    pos = nl + 1;
  }
}

// Splits the head into lines (without their CR/LF), the first being the start line.
class LineReader {
 public:
  explicit LineReader(std::string_view head) : rest_(head) {}
  bool next(std::string_view& line) {
    const auto nl = rest_.find('\n');
    if (nl == std::string_view::npos) return false;
    line = rest_.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    rest_.remove_prefix(nl + 1);
    return true;
  }

 private:
  std::string_view rest_;
};

enum class Kind { kRequest, kResponse };

ParseResult parse_head(std::string_view bytes, MessageHead& head, std::string_view& error,
                       const HeadLimits& limits, Kind kind) {
  // Reset everything but the field vector's capacity (no allocation per message).
  std::vector<HeaderField> fields = std::move(head.headers);
  fields.clear();
  head = MessageHead();
  head.headers = std::move(fields);
  const std::size_t end = head_end(bytes);
  if (end == std::string_view::npos) {
    if (bytes.size() > limits.max_head_bytes) {
      error = "request head too large";
      return ParseResult::kError;
    }
    return ParseResult::kIncomplete;
  }
  if (end > limits.max_head_bytes) {
    error = "request head too large";
    return ParseResult::kError;
  }
  head.head_size = end;
  LineReader lines(bytes.substr(0, end));
  std::string_view line;
  lines.next(line);
  if (kind == Kind::kRequest) {
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
      error = "malformed request line";
      return ParseResult::kError;
    }
    head.method = line.substr(0, sp1);
    head.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (!is_token(head.method) || head.target.empty() ||
        !parse_version(line.substr(sp2 + 1), head.version_minor)) {
      error = "malformed request line";
      return ParseResult::kError;
    }
  } else {
    const auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || !parse_version(line.substr(0, sp1), head.version_minor) ||
        line.size() < sp1 + 4) {
      error = "malformed status line";
      return ParseResult::kError;
    }
    const std::string_view code = line.substr(sp1 + 1, 3);
    for (char c : code)
      if (c < '0' || c > '9') {
        error = "malformed status line";
        return ParseResult::kError;
      }
    head.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (line.size() > sp1 + 4) {
      if (line[sp1 + 4] != ' ') {
        error = "malformed status line";
        return ParseResult::kError;
      }
      head.reason = line.substr(sp1 + 5);
    }
  }
  head.keep_alive = head.version_minor >= 1;
  bool saw_close = false, saw_keep_alive = false;
  while (lines.next(line) && !line.empty()) {
    if (head.headers.size() >= limits.max_fields) {
      error = "too many header fields";
      return ParseResult::kError;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
      // Includes obsolete line folding (a line starting with a blank).
      error = "malformed header field";
      return ParseResult::kError;
    }
    HeaderField f{line.substr(0, colon), trim(line.substr(colon + 1))};
    head.headers.push_back(f);
    if (iequals(f.name, "content-length")) {
      if (f.value.empty() || f.value.size() > 18) {
        error = "invalid Content-Length";
        return ParseResult::kError;
      }
      std::uint64_t n = 0;
      for (char c : f.value) {
        if (c < '0' || c > '9') {
          error = "invalid Content-Length";
          return ParseResult::kError;
        }
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
      }
      if (head.content_length && *head.content_length != n) {
        error = "conflicting Content-Length fields";
        return ParseResult::kError;
      }
      head.content_length = n;
    } else if (iequals(f.name, "transfer-encoding")) {
      bool last_chunked = false, any = false;
      for_each_element(f.value, [&](std::string_view coding) {
        if (coding.empty()) return;
        any = true;
        last_chunked = iequals(coding, "chunked");
      });
      if (!any || !last_chunked || (kind == Kind::kRequest && !iequals(f.value, "chunked"))) {
        error = "unsupported Transfer-Encoding";
        return ParseResult::kError;
      }
      head.chunked = true;
    } else if (iequals(f.name, "connection")) {
      for_each_element(f.value, [&](std::string_view option) {
        if (iequals(option, "close")) saw_close = true;
        if (iequals(option, "keep-alive")) saw_keep_alive = true;
      });
    } else if (iequals(f.name, "expect")) {
      if (iequals(f.value, "100-continue")) head.expect_continue = true;
    }
  }
  if (head.chunked && head.content_length) {
    if (kind == Kind::kRequest) {
      error = "both Content-Length and Transfer-Encoding";
      return ParseResult::kError;
    }
    head.content_length.reset();  // RFC 7230 3.3.3: chunked wins
  }
  if (saw_close)
    head.keep_alive = false;
  else if (saw_keep_alive)
    head.keep_alive = true;
  return ParseResult::kComplete;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::optional<std::string_view> MessageHead::field(std::string_view name) const {
  for (const auto& f : headers)
    if (iequals(f.name, name)) return f.value;
  return std::nullopt;
}

ParseResult parse_request_head(std::string_view bytes, MessageHead& head, std::string_view& error,
                               const HeadLimits& limits) {
  return parse_head(bytes, head, error, limits, Kind::kRequest);
}

ParseResult parse_response_head(std::string_view bytes, MessageHead& head, std::string_view& error,
                                const HeadLimits& limits) {
  return parse_head(bytes, head, error, limits, Kind::kResponse);
}

std::size_t ChunkedDecoder::feed(std::string_view in, std::vector<std::string_view>& pieces,
                                 Status& status) {
  std::size_t i = 0;
  status = Status::kMore;
  // After a chunk-size line: the chunk's data, or the trailer after the last (empty) chunk.
  const auto after_size_line = [this] { return size_ ? State::kData : State::kTrailerStart; };
  // A line feed must come next, then `next`; anything else is an error.
  const auto expect_lf = [&](char c, State next) {
    if (c != '\n') {
      state_ = State::kError;
      return;
    }
    state_ = next;
    ++i;
  };
  while (i < in.size()) {
    const char c = in[i];
    switch (state_) {
      case State::kSize: {
        int d = -1;
        if (c >= '0' && c <= '9') d = c - '0';
        if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        if (d >= 0) {
          if (++digits_ > 15) {
            state_ = State::kError;
            break;
          }
          size_ = size_ * 16 + static_cast<std::uint64_t>(d);
          ++i;
        } else if (digits_ == 0) {
          state_ = State::kError;
        } else if (c == ';' || is_blank(c)) {
          state_ = State::kExtension;
          ++i;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
          ++i;
        } else if (c == '\n') {
          state_ = after_size_line();
          ++i;
        } else {
          state_ = State::kError;
        }
        break;
      }
      case State::kExtension:
        if (c == '\n') state_ = after_size_line();
        ++i;
        break;
      case State::kSizeLf:
        expect_lf(c, after_size_line());
        break;
      case State::kData: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(size_, in.size() - i));
        pieces.push_back(in.substr(i, n));
        i += n;
        size_ -= n;
        if (size_ == 0) {
          state_ = State::kDataCr;
          digits_ = 0;  // for the next chunk's size
        }
        break;
      }
      case State::kDataCr:
        if (c == '\r') {
          state_ = State::kDataLf;
          ++i;
        } else if (c == '\n') {
          state_ = State::kSize;
          ++i;
        } else {
          state_ = State::kError;
        }
        break;
      case State::kDataLf:
        expect_lf(c, State::kSize);
        break;
      case State::kTrailerStart:
        // After the last chunk: an empty line ends the body; anything else is a trailer field.
        if (c == '\r') {
          state_ = State::kFinalLf;
        } else if (c == '\n') {
          state_ = State::kDone;
        } else {
          state_ = State::kTrailerLine;
        }
        ++i;
        break;
      case State::kTrailerLine:
        if (c == '\n') state_ = State::kTrailerStart;
        ++i;
        break;
      case State::kFinalLf:
        expect_lf(c, State::kDone);
        break;
      case State::kDone:
      case State::kError:
        break;
    }
    if (state_ == State::kDone || state_ == State::kError) break;
  }
  if (state_ == State::kDone) status = Status::kDone;
  if (state_ == State::kError) status = Status::kError;
  return i;
}

}  // namespace agentsched::http
