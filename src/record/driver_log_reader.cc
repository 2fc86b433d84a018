#include "record/driver_log_reader.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/time_format.h"
#include "record/line_reader.h"
#include "record/number_field.h"

namespace agentsched {

namespace {

constexpr std::string_view kProfileMarker = "[PROFILE] ";
constexpr std::string_view kUserJudgeMarker = "[USER_JUDGE] ";
constexpr std::string_view kTaskCompleteMarker = "[TAU2_TASK_COMPLETE] ";
constexpr std::string_view kFinishedMarker = "FINISHED SIMULATION";
constexpr std::string_view kGlobalSummaryPrefix = "Global evaluation complete:";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

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
  return parse_number_field(text, out);
}

// Plain decimals as the driver writes them ("7811.42"): digits, an optional '.', digits. With
// at most 15 significant digits the integer mantissa and the power of ten are exact doubles,
// so one division gives the correctly rounded value, the same as from_chars (which handles
// everything else).
bool parse_number(std::string_view text, double& out) {
  constexpr double kPowersOf10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                    1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  std::uint64_t mantissa = 0;
  int digits = 0;
  int fraction_digits = 0;
  bool seen_point = false;
  for (const char c : text) {
    if (c >= '0' && c <= '9') {
      mantissa = mantissa * 10 + static_cast<unsigned>(c - '0');
      ++digits;
      fraction_digits += seen_point;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      digits = 99;  // anything else: the general parser decides
      break;
    }
  }
  if (digits > 0 && digits <= 15 && (!seen_point || fraction_digits > 0)) {
    out = static_cast<double>(mantissa) / kPowersOf10[fraction_digits];
    return true;
  }
  return parse_number<double>(text, out);
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

// First byte equal to `a` or `b` in [p, end), or end. Eight bytes at a time (SWAR): values
// such as model paths are long, and a byte loop over them was the hottest spot of a log scan.
inline const char* find_either(const char* p, const char* end, char a, char b) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  const std::uint64_t pattern_a = kOnes * static_cast<unsigned char>(a);
  const std::uint64_t pattern_b = kOnes * static_cast<unsigned char>(b);
  while (end - p >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    const std::uint64_t xa = word ^ pattern_a;
    const std::uint64_t xb = word ^ pattern_b;
    // High bit set in each zero byte (and possibly in bytes above a zero byte, which never
    // matters: the lowest set bit is always a true match).
    const std::uint64_t hits = ((xa - kOnes) & ~xa & kHighs) | ((xb - kOnes) & ~xb & kHighs);
    if (hits != 0) {
      if constexpr (std::endian::native == std::endian::little) {
        return p + (std::countr_zero(hits) >> 3);
      } else {
        return p + (std::countl_zero(hits) >> 3);
      }
    }
    p += 8;
  }
  while (p < end && *p != a && *p != b) ++p;
  return p;
}

// Iterates space-separated `key=value` tokens.
template <typename OnField>
void for_each_field(std::string_view fields, OnField&& on_field) {
  const char* p = fields.data();
  const char* const end = p + fields.size();
  while (p < end) {
    if (*p == ' ') {
      ++p;
      continue;
    }
    const char* const token = p;
    p = find_either(p, end, '=', ' ');
    if (p == end || *p == ' ') continue;  // a token without '='
    const char* const eq = p;
    p = find_either(eq + 1, end, ' ', ' ');
    const std::string_view key(token, static_cast<std::size_t>(eq - token));
    const std::string_view value(eq + 1, static_cast<std::size_t>(p - eq - 1));
    // A callback returning bool can stop the iteration by returning false.
    if constexpr (std::is_same_v<decltype(on_field(key, value)), bool>) {
      if (!on_field(key, value)) return;
    } else {
      on_field(key, value);
    }
  }
}

enum class ParseOutcome { kParsed, kGarbled, kNotWanted };

ParseOutcome parse_profile(std::string_view body, bool user_judge, const LogVisitor& visitor,
                           ProfileRecord& record) {
  std::size_t length = 0;
  const auto time = parse_log_timestamp(body, length);
  if (!time || length >= body.size() || body[length] != ' ') return ParseOutcome::kGarbled;
  // Field by field rather than `record = ProfileRecord{}`: this runs for every line, and the
  // temporary's zeroing and copy showed up in profiles.
  record.unix_time = *time;
  record.type = ProfileEventType::kOther;
  record.type_name = {};
  record.task = {};
  record.step = -1;
  record.duration_ms = kNaN;
  record.from_role = {};
  record.to_role = {};
  record.fields = body.substr(length + 1);
  record.user_judge = user_judge;
  bool has_type = false;
  bool wanted = true;
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
          wanted = visitor.wants(record.type);
          if (!wanted) return false;
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
    return true;
  });
  if (!has_type || !numbers_ok) return ParseOutcome::kGarbled;
  if (!wanted) return ParseOutcome::kNotWanted;
  switch (record.type) {
    case ProfileEventType::kStepComplete:
      record.duration_ms = total_duration_ms;
      return ParseOutcome::kParsed;
    case ProfileEventType::kLlmCall:
    case ProfileEventType::kExpertCall:
    case ProfileEventType::kToolCall:
    case ProfileEventType::kUserSim:
      // A call without its duration is useless to every reader: a cut line.
      return std::isnan(record.duration_ms) ? ParseOutcome::kGarbled : ParseOutcome::kParsed;
    case ProfileEventType::kOther:
      return ParseOutcome::kParsed;
  }
  return ParseOutcome::kParsed;
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
  int seen = 0;  // a bit per key, in the order below: every key is required
  bool numbers_ok = true;
  for_each_field(text.substr(kGlobalSummaryPrefix.size()),
                 [&](std::string_view key, std::string_view value) {
                   int bit = 1;
                   const auto read = [&](std::string_view name, auto& field) {
                     if (key == name) {
                       numbers_ok &= parse_number(value, field);
                       seen |= bit;
                     }
                     bit <<= 1;
                   };
                   read("ok", record.ok);
                   read("error", record.error);
                   read("total", record.total);
                   read("elapsed_s", record.elapsed_s);
                   read("tasks_per_min", record.tasks_per_min);
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
  if (s.size() < 19) return std::nullopt;
  // Consecutive lines almost always share "YYYY-MM-DD HH:MM": remember the last validated one
  // and its seconds, so most lines only parse the seconds and the fraction.
  constexpr std::size_t kPrefix = 16;
  thread_local char cached_prefix[kPrefix] = {};
  thread_local std::int64_t cached_prefix_seconds = -1;
  std::int64_t whole;
  unsigned sec;
  if (cached_prefix_seconds >= 0 && std::memcmp(s.data(), cached_prefix, kPrefix) == 0) {
    if (s[16] != ':' || !read_digits(s, 17, 2, sec) || sec > 60) return std::nullopt;
    whole = cached_prefix_seconds + sec;
  } else {
    unsigned y, mo, d, h, mi;
    if (!read_digits(s, 0, 4, y) || s[4] != '-' || !read_digits(s, 5, 2, mo) || s[7] != '-' ||
        !read_digits(s, 8, 2, d) || (s[10] != ' ' && s[10] != 'T') || !read_digits(s, 11, 2, h) ||
        s[13] != ':' || !read_digits(s, 14, 2, mi) || s[16] != ':' || !read_digits(s, 17, 2, sec))
      return std::nullopt;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
    cached_prefix_seconds = days_from_civil(static_cast<int>(y), mo, d) * 86400 +
                            std::int64_t{h} * 3600 + std::int64_t{mi} * 60;
    std::memcpy(cached_prefix, s.data(), kPrefix);
    whole = cached_prefix_seconds + sec;
  }
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

namespace {

// `scratch` is reused across lines by scan_log: constructing a fresh record per line (zeroing
// ~120 bytes) was a tenth of a scan's time.
bool scan_line(std::string_view line, LogVisitor& visitor, std::size_t& records, bool& glued,
               ProfileRecord& scratch) {
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
        switch (parse_profile(body, marker.kind == MarkerKind::kUserJudge, visitor, scratch)) {
          case ParseOutcome::kParsed:
            ++records;
            visitor.on_profile(scratch);
            break;
          case ParseOutcome::kNotWanted:
            ++records;
            break;
          case ParseOutcome::kGarbled:
            clean = false;
            break;
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

}  // namespace

bool scan_log_line(std::string_view line, LogVisitor& visitor, std::size_t& records, bool& glued) {
  ProfileRecord scratch;
  return scan_line(line, visitor, records, glued, scratch);
}

Result<LogScanStats> scan_log(const std::filesystem::path& path, LogVisitor& visitor) {
  auto reader = LineReader::open(path);
  if (!reader) return reader.error();
  LogScanStats stats;
  ProfileRecord scratch;
  std::string_view line;
  while (reader->next(line)) {
    bool glued = false;
    if (!scan_line(line, visitor, stats.records, glued, scratch)) {
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
