#pragma once
// Prometheus text exposition format (version 0.0.4): a tolerant parser for what engines
// expose on /metrics, and a writer that formats numbers and families the way Python's
// prometheus_client does, so our /metrics reads like vLLM's to any scraper or diff.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace agentsched::http {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct PrometheusSample {
  std::string name;
  Labels labels;  // in the order the text gave them
  double value = 0;

  // The value of label `name`, or nullopt.
  std::optional<std::string_view> label(std::string_view name) const;
};

struct PrometheusText {
  std::vector<PrometheusSample> samples;
  // From `# TYPE name type` lines: counter, gauge, histogram, summary, untyped.
  std::unordered_map<std::string, std::string> types;
  std::unordered_map<std::string, std::string> help;
  // 1-based numbers of lines that were neither comments nor valid samples. They are skipped:
  // one bad line from a backend must not hide every other metric.
  std::vector<std::size_t> bad_lines;
};

// Parses exposition text. Never fails: invalid lines are skipped and listed in bad_lines.
PrometheusText parse_prometheus_text(std::string_view text);

// All samples named `name`, in text order.
std::vector<const PrometheusSample*> find_samples(const PrometheusText& text,
                                                  std::string_view name);

// A float as prometheus_client prints it: Python's repr, switched to an exponent for large
// values the way Go does ("0.0", "12.0", "4.1873e+06", "9.75010481363281e-06", "+Inf", "NaN").
std::string format_prometheus_value(double value);

// Cumulative-bucket histogram with fixed upper bounds (le), like prometheus_client's.
class PrometheusHistogram {
 public:
  explicit PrometheusHistogram(std::vector<double> upper_bounds);
  void observe(double value);
  const std::vector<double>& upper_bounds() const { return bounds_; }
  // Count of observations <= upper_bounds()[i] (cumulative).
  std::uint64_t cumulative_count(std::size_t i) const;
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

// Builds exposition text family by family. Label sets are written sorted by name with
// escaped values, as prometheus_client does.
class PrometheusWriter {
 public:
  // Starts a family: `# HELP` and `# TYPE` lines.
  void family(std::string_view name, std::string_view help, std::string_view type);
  void sample(std::string_view name, const Labels& labels, double value);

  // A gauge family with one sample.
  void gauge(std::string_view name, std::string_view help, const Labels& labels, double value);
  // A counter as prometheus_client writes it: `<base>_total` (counter) followed by
  // `<base>_created` (gauge, Unix seconds). `values` holds one entry per label set.
  void counter(std::string_view base, std::string_view help,
               const std::vector<std::pair<Labels, double>>& values, double created_unix);
  // `<name>_bucket` for every bound and +Inf, `_count`, `_sum`, then `<name>_created`.
  void histogram(std::string_view name, std::string_view help, const Labels& labels,
                 const PrometheusHistogram& histogram, double created_unix);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace agentsched::http
