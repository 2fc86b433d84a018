#include "core/time_format.h"

#include <cmath>
#include <cstdio>

namespace agentsched {

namespace {

// Days since 1970-01-01 to civil date (proleptic Gregorian), after H. Hinnant's algorithm.
void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t yy = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(yy + (m <= 2));
}

struct Parts {
  int y;
  unsigned mo, d, h, mi, s, ms;
};

Parts split(double unix_seconds) {
  auto total_ms = static_cast<std::int64_t>(std::floor(unix_seconds * 1000.0 + 0.5));
  std::int64_t secs = total_ms >= 0 ? total_ms / 1000 : (total_ms - 999) / 1000;
  Parts p{};
  p.ms = static_cast<unsigned>(total_ms - secs * 1000);
  std::int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  auto rem = static_cast<unsigned>(secs - days * 86400);
  civil_from_days(days, p.y, p.mo, p.d);
  p.h = rem / 3600;
  p.mi = rem % 3600 / 60;
  p.s = rem % 60;
  return p;
}

}  // namespace

// After H. Hinnant's algorithm, as civil_from_days.
std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::string format_datetime_ms(double t) {
  const Parts p = split(t);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02u:%02u:%02u.%03u", p.y, p.mo, p.d, p.h, p.mi,
                p.s, p.ms);
  return buf;
}

std::string format_datetime(double t) {
  const Parts p = split(std::floor(t));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02u:%02u:%02u", p.y, p.mo, p.d, p.h, p.mi, p.s);
  return buf;
}

std::string format_iso8601(double t) {
  const Parts p = split(std::floor(t));
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02u+00:00", p.y, p.mo, p.d, p.h, p.mi,
                p.s);
  return buf;
}

std::optional<double> parse_datetime(std::string_view s) {
  auto digits = [&](std::size_t pos, std::size_t n, unsigned& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + static_cast<unsigned>(s[i] - '0');
    }
    return true;
  };
  unsigned y, mo, d, h, mi, sec;
  if (s.size() < 19 || !digits(0, 4, y) || s[4] != '-' || !digits(5, 2, mo) || s[7] != '-' ||
      !digits(8, 2, d) || (s[10] != ' ' && s[10] != 'T') || !digits(11, 2, h) || s[13] != ':' ||
      !digits(14, 2, mi) || s[16] != ':' || !digits(17, 2, sec))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  double frac = 0.0;
  if (s.size() > 20 && s[19] == '.') {
    double scale = 0.1;
    for (std::size_t i = 20; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10)
      frac += (s[i] - '0') * scale;
  }
  const std::int64_t days = days_from_civil(static_cast<int>(y), mo, d);
  return static_cast<double>(days * 86400 + h * 3600 + mi * 60 + sec) + frac;
}

}  // namespace agentsched
