#pragma once
// Calendar formatting of Unix timestamps in UTC, as the reference artifacts write them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agentsched {

// Fixed start of every simulated run, so simulated artifacts are byte-for-byte reproducible:
// 2026-01-05 10:00:00 UTC.
inline constexpr double kVirtualEpochUnix = 1767607200.0;

// "YYYY-MM-DD HH:MM:SS.mmm"
std::string format_datetime_ms(double unix_seconds);
// "YYYY-MM-DD HH:MM:SS"
std::string format_datetime(double unix_seconds);
// "YYYY-MM-DDTHH:MM:SS+00:00"
std::string format_iso8601(double unix_seconds);
// Parses "YYYY-MM-DD HH:MM:SS[.fff]" (a 'T' separator is also accepted) as UTC.
std::optional<double> parse_datetime(std::string_view text);
// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31).
std::int64_t days_from_civil(int year, unsigned month, unsigned day);

}  // namespace agentsched
