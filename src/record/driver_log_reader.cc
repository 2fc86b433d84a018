#include "record/driver_log_reader.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "record/line_reader.h"

namespace agentsched {

namespace {

constexpr std::string_view kProfileMarker = "[PROFILE] ";
constexpr std::string_view kUserJudgeMarker = "[USER_JUDGE] ";
constexpr std::string_view kTaskCompleteMarker = "[TAU2_TASK_COMPLETE] ";
constexpr std::string_view kFinishedMarker = "FINISHED SIMULATION";
constexpr std::string_view kGlobalSummaryPrefix = "Global evaluation complete:";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool read_digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& out) {
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    const unsigned digit = static_cast<unsigned char>(s[i]) - '0';
    if (digit > 9) return false;
    out = out * 10 + digit;
  }
  return true;
}

// Cheap shape test before a full parse, for backwards searches.
bool looks_like_timestamp(std::string_view s, std::size_t pos) {
  return pos + 19 <= s.size() && s[pos + 4] == '-' && s[pos + 7] == '-' &&
         (s[pos + 10] == ' ' || s[pos + 10] == 'T') && s[pos + 13] == ':' && s[pos + 16] == ':';
}

template <typename Number>
bool parse_number(std::string_view text, Number& out) {
  if (text.empty()) return false;
  const char* begin = text.data();
  if (*begin == '+') ++begin;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, out);
  return ec == std::errc() && ptr == end;
}

ProfileEventType classify(std::string_view type) {
  switch (type.size()) {
    case 8:
      if (type == "llm_call") return ProfileEventType::kLlmCall;
      if (type == "user_sim") return ProfileEventType::kUserSim;
      break;
    case 9:
      if (type == "tool_call") return ProfileEventType::kToolCall;
      break;
    case 11:
      if (type == "expert_call") return ProfileEventType::kExpertCall;
      break;
    case 13:
      if (type == "step_complete") return ProfileEventType::kStepComplete;
      break;
    default:
      break;
  }
  return ProfileEventType::kOther;
}

// Iterates space-separated `key=value` tokens.
template <typename OnField>
void for_each_field(std::string_view fields, OnField&& on_field) {
  // Tokens are short: a plain loop beats a memchr call per token.
  const char* p = fields.data();
  const char* const end = p + fields.size();
  while (p < end) {
    if (*p == ' ') {
      ++p;
      continue;
    }
    const char* const token = p;
    const char* eq = nullptr;
    while (p < end && *p != ' ') {
      if (*p == '=' && eq == nullptr) eq = p;
      ++p;
    }
    if (eq != nullptr) {
      on_field(std::string_view(token, static_cast<std::size_t>(eq - token)),
               std::string_view(eq + 1, static_cast<std::size_t>(p - eq - 1)));
    }
  }
}

bool parse_profile(std::string_view body, bool user_judge, ProfileRecord& record) {
  std::size_t length = 0;
  const auto time = parse_log_timestamp(body, length);
  if (!time || length >= body.size() || body[length] != ' ') return false;
  record = ProfileRecord{};
  record.unix_time = *time;
  record.user_judge = user_judge;
  record.fields = body.substr(length + 1);
  record.duration_ms = kNaN;
  bool has_type = false;
  bool numbers_ok = true;
  double total_duration_ms = kNaN;
  for_each_field(record.fields, [&](std::string_view key, std::string_view value) {
    switch (key.size()) {
      case 4:
        if (key == "task") {
          record.task = value;
        } else if (key == "type") {
          record.type_name = value;
          record.type = classify(value);
          has_type = true;
        } else if (key == "step") {
          numbers_ok &= parse_number(value, record.step);
        }
        break;
      case 7:
        if (key == "to_role") record.to_role = value;
        break;
      case 9:
        if (key == "from_role") record.from_role = value;
        break;
      case 11:
        if (key == "duration_ms") numbers_ok &= parse_number(value, record.duration_ms);
        break;
      case 17:
        if (key == "total_duration_ms") numbers_ok &= parse_number(value, total_duration_ms);
        break;
      default:
        break;
    }
  });
  if (!has_type || !numbers_ok) return false;
  switch (record.type) {
    case ProfileEventType::kStepComplete:
      record.duration_ms = total_duration_ms;
      return true;
    case ProfileEventType::kLlmCall:
    case ProfileEventType::kExpertCall:
    case ProfileEventType::kToolCall:
    case ProfileEventType::kUserSim:
      // A call without its duration is useless to every reader: a cut line.
      return !std::isnan(record.duration_ms);
    case ProfileEventType::kOther:
      return true;
  }
  return true;
}

bool parse_task_complete(std::string_view body, TaskCompleteRecord& record) {
  record = TaskCompleteRecord{};
  bool numbers_ok = true;
  for_each_field(body, [&](std::string_view key, std::string_view value) {
    if (key == "domain") {
      record.domain = value;
    } else if (key == "task_id") {
      record.task_id = value;
    } else if (key == "status") {
      record.status = value;
    } else if (key == "completed_global") {
      numbers_ok &= parse_number(value, record.completed_global);
    } else if (key == "total_global") {
      numbers_ok &= parse_number(value, record.total_global);
    }
  });
  return numbers_ok && !record.domain.empty() && !record.task_id.empty() && !record.status.empty();
}

bool parse_global_summary(std::string_view text, double unix_time, GlobalSummaryRecord& record) {
  record = GlobalSummaryRecord{};
  record.unix_time = unix_time;
  record.text = text;
  int seen = 0;
  bool numbers_ok = true;
  for_each_field(text.substr(kGlobalSummaryPrefix.size()),
                 [&](std::string_view key, std::string_view value) {
                   if (key == "ok") {
                     numbers_ok &= parse_number(value, record.ok);
                     seen |= 1;
                   } else if (key == "error") {
                     numbers_ok &= parse_number(value, record.error);
                     seen |= 2;
                   } else if (key == "total") {
                     numbers_ok &= parse_number(value, record.total);
                     seen |= 4;
                   } else if (key == "elapsed_s") {
                     numbers_ok &= parse_number(value, record.elapsed_s);
                     seen |= 8;
                   } else if (key == "tasks_per_min") {
                     numbers_ok &= parse_number(value, record.tasks_per_min);
                     seen |= 16;
                   }
                 });
  return numbers_ok && seen == 31;
}

// Text between `label` and the next ',' (or the end), inside `text`.
std::string_view labelled(std::string_view text, std::string_view label) {
  const std::size_t at = text.find(label);
  if (at == std::string_view::npos) return {};
  const std::size_t from = at + label.size();
  const std::size_t comma = text.find(',', from);
  return text.substr(from, (comma == std::string_view::npos ? text.size() : comma) - from);
}

// Start of the timestamp that belongs to the FINISHED marker at `marker`: the one right before
// ` | INFO`, else the nearest one before the marker; searched only after `lower_bound`.
std::optional<std::pair<std::size_t, double>> finished_timestamp(std::string_view line,
                                                                 std::size_t marker,
                                                                 std::size_t lower_bound) {
  const std::string_view head = line.substr(0, marker);
  std::size_t info = head.rfind(" | INFO");
  if (info != std::string_view::npos && info >= lower_bound + 19) {
    // Milliseconds first (the usual "YYYY-MM-DD HH:MM:SS.mmm"), then other precisions.
    const std::size_t lowest = info >= lower_bound + 30 ? info - 30 : lower_bound;
    for (std::size_t start = info - 19 + 1; start-- > lowest;) {
      if (!looks_like_timestamp(line, start)) continue;
      std::size_t length = 0;
      const auto time = parse_log_timestamp(line.substr(start, info - start), length);
      if (time && start + length == info) return std::make_pair(start, *time);
    }
  }
  if (marker < lower_bound + 19) return std::nullopt;
  for (std::size_t start = marker - 19 + 1; start-- > lower_bound;) {
    if (!looks_like_timestamp(line, start)) continue;
    std::size_t length = 0;
    const auto time = parse_log_timestamp(line.substr(start), length);
    if (time) return std::make_pair(start, *time);
  }
  return std::nullopt;
}

enum class MarkerKind : std::uint8_t { kProfile, kUserJudge, kTaskComplete, kDriver, kFinished };

struct Marker {
  std::size_t start;  // where the record begins (and the previous one ends)
  std::size_t body;   // where its content begins
  MarkerKind kind;
  double time;  // kFinished, kDriver: the parsed timestamp
};

constexpr std::size_t kMaxMarkersPerLine = 32;

}  // namespace

std::optional<double> parse_log_timestamp(std::string_view s, std::size_t& length) {
  unsigned y, mo, d, h, mi, sec;
  if (s.size() < 19 || !read_digits(s, 0, 4, y) || s[4] != '-' || !read_digits(s, 5, 2, mo) ||
      s[7] != '-' || !read_digits(s, 8, 2, d) || (s[10] != ' ' && s[10] != 'T') ||
      !read_digits(s, 11, 2, h) || s[13] != ':' || !read_digits(s, 14, 2, mi) || s[16] != ':' ||
      !read_digits(s, 17, 2, sec))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  // Consecutive lines almost always share the date: remember the last one's day number.
  thread_local unsigned cached_y = 0, cached_mo = 0, cached_d = 0;
  thread_local std::int64_t cached_days = 0;
  if (y != cached_y || mo != cached_mo || d != cached_d) {
    cached_days = days_from_civil(static_cast<int>(y), mo, d);
    cached_y = y;
    cached_mo = mo;
    cached_d = d;
  }
  const std::int64_t whole =
      cached_days * 86400 + std::int64_t{h} * 3600 + std::int64_t{mi} * 60 + sec;
  length = 19;
  if (s.size() > 20 && (s[19] == '.' || s[19] == ',')) {
    // Up to microseconds, kept as an exact integer so the division below rounds once.
    std::int64_t fraction = 0;
    std::int64_t scale = 1;
    std::size_t i = 20;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (scale < 1000000) {
        fraction = fraction * 10 + (s[i] - '0');
        scale *= 10;
      }
    }
    if (i > 20) {
      length = i;
      return static_cast<double>(whole * scale + fraction) / static_cast<double>(scale);
    }
  }
  return static_cast<double>(whole);
}

std::optional<std::string_view> find_field(std::string_view fields, std::string_view key) {
  std::optional<std::string_view> found;
  for_each_field(fields, [&](std::string_view k, std::string_view value) {
    if (!found && k == key) found = value;
  });
  return found;
}

bool scan_log_line(std::string_view line, LogVisitor& visitor, std::size_t& records, bool& glued) {
  Marker markers[kMaxMarkersPerLine];
  std::size_t count = 0;
  bool clean = true;
  glued = false;

  const char* const data = line.data();
  const std::size_t size = line.size();
  for (std::size_t pos = 0; pos < size && count < kMaxMarkersPerLine;) {
    const void* found = std::memchr(data + pos, '[', size - pos);
    if (found == nullptr) break;
    const auto at = static_cast<std::size_t>(static_cast<const char*>(found) - data);
    const std::string_view rest = line.substr(at);
    if (rest.starts_with(kProfileMarker)) {
      markers[count++] = {at, at + kProfileMarker.size(), MarkerKind::kProfile, 0};
    } else if (rest.starts_with(kUserJudgeMarker)) {
      markers[count++] = {at, at + kUserJudgeMarker.size(), MarkerKind::kUserJudge, 0};
    } else if (rest.starts_with(kTaskCompleteMarker)) {
      markers[count++] = {at, at + kTaskCompleteMarker.size(), MarkerKind::kTaskComplete, 0};
    } else if (rest.size() > 21 && looks_like_timestamp(rest, 1)) {
      std::size_t length = 0;
      const auto time = parse_log_timestamp(rest.substr(1), length);
      if (time && rest.size() > length + 2 && rest[1 + length] == ']' && rest[2 + length] == ' ') {
        markers[count++] = {at, at + length + 3, MarkerKind::kDriver, *time};
      }
    }
    pos = at + 1;
  }

  // FINISHED markers: the record starts at the timestamp that precedes the marker.
  std::size_t search_from = 0;
  while (count < kMaxMarkersPerLine) {
    const std::size_t at = line.find(kFinishedMarker, search_from);
    if (at == std::string_view::npos) break;
    const auto stamp = finished_timestamp(line, at, search_from);
    if (stamp) {
      markers[count++] = {stamp->first, at, MarkerKind::kFinished, stamp->second};
    } else {
      clean = false;
    }
    search_from = at + kFinishedMarker.size();
  }
  if (count == 0) return clean;

  // Few markers per line: insertion sort by position.
  for (std::size_t i = 1; i < count; ++i) {
    for (std::size_t j = i; j > 0 && markers[j].start < markers[j - 1].start; --j)
      std::swap(markers[j], markers[j - 1]);
  }
  glued = count > 1;

  for (std::size_t i = 0; i < count; ++i) {
    const Marker& marker = markers[i];
    const std::size_t end = i + 1 < count ? markers[i + 1].start : size;
    if (marker.body > end) {  // a marker inside another's timestamp: cannot happen cleanly
      clean = false;
      continue;
    }
    const std::string_view body = line.substr(marker.body, end - marker.body);
    switch (marker.kind) {
      case MarkerKind::kProfile:
      case MarkerKind::kUserJudge: {
        ProfileRecord record;
        if (parse_profile(body, marker.kind == MarkerKind::kUserJudge, record)) {
          ++records;
          visitor.on_profile(record);
        } else {
          clean = false;
        }
        break;
      }
      case MarkerKind::kTaskComplete: {
        TaskCompleteRecord record;
        if (parse_task_complete(body, record)) {
          ++records;
          visitor.on_task_complete(record);
        } else {
          clean = false;
        }
        break;
      }
      case MarkerKind::kDriver: {
        if (body.starts_with(kGlobalSummaryPrefix)) {
          GlobalSummaryRecord record;
          if (parse_global_summary(body, marker.time, record)) {
            ++records;
            visitor.on_global_summary(record);
          } else {
            clean = false;
          }
        } else {
          ++records;
          visitor.on_driver_message(DriverMessageRecord{marker.time, body});
        }
        break;
      }
      case MarkerKind::kFinished: {
        TaskFinishedRecord record;
        record.unix_time = marker.time;
        record.domain = labelled(body, "Domain: ");
        record.task_id = labelled(body, "Task: ");
        ++records;
        visitor.on_task_finished(record);
        break;
      }
    }
  }
  return clean;
}

Result<LogScanStats> scan_log(const std::filesystem::path& path, LogVisitor& visitor) {
  auto reader = LineReader::open(path);
  if (!reader) return reader.error();
  LogScanStats stats;
  std::string_view line;
  while (reader->next(line)) {
    bool glued = false;
    if (!scan_log_line(line, visitor, stats.records, glued)) {
      ++stats.garbled_lines;
      if (stats.first_garbled_line_numbers.size() < LogScanStats::kMaxGarbledExamples)
        stats.first_garbled_line_numbers.push_back(reader->line_number());
    }
    if (glued) ++stats.glued_lines;
  }
  if (reader->failed()) return make_error(path.string() + ": read error");
  stats.lines = reader->line_number();
  stats.bytes = reader->bytes_read();
  if (stats.bytes == 0) return make_error(path.string() + ": empty file");
  return stats;
}

}  // namespace agentsched
