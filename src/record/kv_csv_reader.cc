#include "record/kv_csv_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "record/driver_log_reader.h"
#include "record/line_reader.h"
#include "record/number_field.h"
#include "record/run_layout.h"

namespace agentsched {

namespace {

constexpr std::string_view kUsageMetric = "kv_cache_usage_perc";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_nan_text(std::string_view value) {
  return value.empty() || value == "NaN" || value == "nan" || value == "NAN";
}

// ts_iso as written by the samplers: "YYYY-MM-DDTHH:MM:SS[.fff]" followed by "+00:00", "Z" or
// nothing. Other offsets are refused rather than misread.
bool parse_iso_utc(std::string_view text, double& out) {
  std::size_t length = 0;
  const auto time = parse_log_timestamp(text, length);
  if (!time) return false;
  const std::string_view zone = text.substr(length);
  if (!zone.empty() && zone != "Z" && zone != "+00:00" && zone != "+0000") return false;
  out = *time;
  return true;
}

enum class RowOutcome { kSample, kNaN, kOtherMetric, kGarbled };

RowOutcome parse_row(std::string_view row, KvSample& sample) {
  // The metric may carry label text, so the value is the field after the LAST comma and the
  // metric is everything between the third comma and that one.
  const std::size_t c1 = row.find(',');
  if (c1 == std::string_view::npos) return RowOutcome::kGarbled;
  const std::size_t c2 = row.find(',', c1 + 1);
  if (c2 == std::string_view::npos) return RowOutcome::kGarbled;
  const std::size_t c3 = row.find(',', c2 + 1);
  if (c3 == std::string_view::npos) return RowOutcome::kGarbled;
  const std::size_t last = row.rfind(',');
  if (last <= c3) return RowOutcome::kGarbled;
  const std::string_view metric = row.substr(c3 + 1, last - c3 - 1);
  if (metric.find(kUsageMetric) == std::string_view::npos) return RowOutcome::kOtherMetric;

  const std::string_view ts_iso = trim(row.substr(0, c1));
  const std::string_view ts_unix = trim(row.substr(c1 + 1, c2 - c1 - 1));
  const std::string_view port = trim(row.substr(c2 + 1, c3 - c2 - 1));
  const std::string_view value = trim(row.substr(last + 1));

  if (!parse_number_field(ts_unix, sample.unix_time) || !std::isfinite(sample.unix_time)) {
    if (!parse_iso_utc(ts_iso, sample.unix_time)) return RowOutcome::kGarbled;
  }
  sample.port = 0;
  if (!port.empty()) {
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), sample.port);
    if (ec != std::errc() || ptr != port.data() + port.size()) return RowOutcome::kGarbled;
  }
  if (is_nan_text(value)) return RowOutcome::kNaN;
  if (!parse_number_field(value, sample.usage)) return RowOutcome::kGarbled;
  if (std::isnan(sample.usage)) return RowOutcome::kNaN;
  // A fraction by definition; anything else (a percentage, inf) is not a usage sample.
  if (!(sample.usage >= 0.0 && sample.usage <= 1.0)) return RowOutcome::kGarbled;
  return RowOutcome::kSample;
}

}  // namespace

Result<KvSeries> read_kv_csv(const std::filesystem::path& path) {
  auto reader = LineReader::open(path);
  if (!reader) return reader.error();
  KvSeries series;
  std::string_view line;
  if (!reader->next(line)) {
    if (reader->failed()) return make_error(path.string() + ": read error");
    return make_error(path.string() + ": empty file");
  }
  if (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);  // UTF-8 byte order mark
  if (trim(line) != run_layout::kKvCsvHeader) {
    return make_error(fmt::format("{}: line 1: expected header '{}', found '{}'", path.string(),
                                  run_layout::kKvCsvHeader,
                                  line.substr(0, std::min<std::size_t>(line.size(), 80))));
  }
  while (reader->next(line)) {
    if (trim(line).empty()) continue;
    ++series.rows;
    KvSample sample;
    switch (parse_row(line, sample)) {
      case RowOutcome::kSample:
        series.samples.push_back(sample);
        if (std::find(series.ports.begin(), series.ports.end(), sample.port) == series.ports.end())
          series.ports.push_back(sample.port);
        break;
      case RowOutcome::kNaN:
        ++series.nan_samples;
        break;
      case RowOutcome::kOtherMetric:
        ++series.other_metric_rows;
        break;
      case RowOutcome::kGarbled:
        ++series.garbled_rows;
        if (series.first_garbled_line_numbers.size() < 5)
          series.first_garbled_line_numbers.push_back(reader->line_number());
        break;
    }
  }
  if (reader->failed()) return make_error(path.string() + ": read error");
  std::sort(series.ports.begin(), series.ports.end());
  if (series.samples.empty()) {
    return make_error(fmt::format(
        "{}: no usable kv_cache_usage_perc sample ({} data rows: {} NaN, {} other metrics, {} "
        "garbled)",
        path.string(), series.rows, series.nan_samples, series.other_metric_rows,
        series.garbled_rows));
  }
  return series;
}

}  // namespace agentsched
