#include "http/json_scan.h"

#include <fmt/format.h>

#include <array>
#include <boost/json.hpp>
#include <cstring>

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

// s[i] == '"'; the index just past the closing quote, or npos.
std::size_t skip_string(std::string_view s, std::size_t i) {
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

// The index just past the value starting at s[i], or npos. Containers are skipped by depth
// (strings inside them by skip_string); scalars up to the next delimiter.
std::size_t skip_value(std::string_view s, std::size_t i) {
  if (i >= s.size()) return npos;
  const char c = s[i];
  if (c == '"') return skip_string(s, i);
  if (c == '{' || c == '[') {
    std::size_t depth = 0;
    std::size_t p = i;
    while (p < s.size()) {
      const char d = s[p];
      if (d == '"') {
        p = skip_string(s, p);
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
  std::size_t p = i;
  while (p < s.size() && !is_ws(s[p]) && s[p] != ',' && s[p] != '}' && s[p] != ']') ++p;
  return p == i ? npos : p;
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
    return BodyEdit{0, body.size(), json::serialize(v)};
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
  return BodyEdit{b, e, json::serialize(v)};
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
