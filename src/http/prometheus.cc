#include "http/prometheus.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace agentsched::http {

namespace {

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}
void skip_blanks(std::string_view s, std::size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

std::optional<std::string_view> read_name(std::string_view s, std::size_t& i) {
  if (i >= s.size() || !is_name_start(s[i])) return std::nullopt;
  const std::size_t start = i;
  while (i < s.size() && is_name_char(s[i])) ++i;
  return s.substr(start, i - start);
}

// Prometheus values: Go float syntax plus Inf/NaN spellings.
std::optional<double> parse_value(std::string_view t) {
  if (t.empty()) return std::nullopt;
  if (t == "+Inf" || t == "Inf" || t == "+inf" || t == "inf")
    return std::numeric_limits<double>::infinity();
  if (t == "-Inf" || t == "-inf") return -std::numeric_limits<double>::infinity();
  if (t == "NaN" || t == "nan") return std::numeric_limits<double>::quiet_NaN();
  std::string_view digits = t;
  if (digits.front() == '+') digits.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return v;
}

// Parses `{name="value",...}` starting at s[i] == '{'.
bool parse_labels(std::string_view s, std::size_t& i, Labels& labels) {
  ++i;  // '{'
  for (;;) {
    skip_blanks(s, i);
    if (i < s.size() && s[i] == '}') {
      ++i;
      return true;
    }
    auto name = read_name(s, i);
    if (!name) return false;
    skip_blanks(s, i);
    if (i >= s.size() || s[i] != '=') return false;
    ++i;
    skip_blanks(s, i);
    if (i >= s.size() || s[i] != '"') return false;
    ++i;
    std::string value;
    bool closed = false;
    while (i < s.size()) {
      const char c = s[i++];
      if (c == '"') {
        closed = true;
        break;
      }
      if (c == '\\' && i < s.size()) {
        const char e = s[i++];
        value += e == 'n' ? '\n' : e;  // \\ and \" stand for themselves
      } else {
        value += c;
      }
    }
    if (!closed) return false;
    labels.emplace_back(std::string(*name), std::move(value));
    skip_blanks(s, i);
    if (i < s.size() && s[i] == ',')
      ++i;
    else if (i >= s.size() || s[i] != '}')
      return false;
  }
}

std::optional<PrometheusSample> parse_sample_line(std::string_view line) {
  std::size_t i = 0;
  skip_blanks(line, i);
  auto name = read_name(line, i);
  if (!name) return std::nullopt;
  PrometheusSample sample;
  sample.name = std::string(*name);
  skip_blanks(line, i);
  if (i < line.size() && line[i] == '{' && !parse_labels(line, i, sample.labels))
    return std::nullopt;
  skip_blanks(line, i);
  std::size_t end = i;
  while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
  auto value = parse_value(line.substr(i, end - i));
  if (!value) return std::nullopt;
  sample.value = *value;
  // An optional integer timestamp (ms) may follow; anything else makes the line invalid.
  i = end;
  skip_blanks(line, i);
  if (i < line.size()) {
    std::size_t ts_end = i;
    if (line[ts_end] == '-') ++ts_end;
    while (ts_end < line.size() && line[ts_end] >= '0' && line[ts_end] <= '9') ++ts_end;
    std::size_t rest = ts_end;
    skip_blanks(line, rest);
    if (ts_end == i || rest != line.size()) return std::nullopt;
  }
  return sample;
}

void parse_comment(std::string_view line, PrometheusText& out) {
  // "# HELP name text" / "# TYPE name type"; other comments are ignored.
  std::size_t i = 1;
  skip_blanks(line, i);
  const bool help = line.substr(i, 4) == "HELP";
  const bool type = line.substr(i, 4) == "TYPE";
  if (!help && !type) return;
  i += 4;
  skip_blanks(line, i);
  auto name = read_name(line, i);
  if (!name) return;
  skip_blanks(line, i);
  std::string_view rest = line.substr(i);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  (help ? out.help : out.types)[std::string(*name)] = std::string(rest);
}

void append_escaped(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

// Python's repr() of a float: shortest round-trip digits; fixed notation for exponents in
// [-4, 16), otherwise d.ddde+XX.
std::string python_repr(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
  const bool negative = sci.front() == '-';
  if (negative) sci.remove_prefix(1);
  const std::size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos))
    if (c != '.') digits += c;
  const int exp = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  std::string out = negative ? "-" : "";
  if (exp < -4 || exp >= 16) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += exp < 0 ? "e-" : "e+";
    const int a = std::abs(exp);
    if (a < 10) out += '0';
    out += std::to_string(a);
    return out;
  }
  if (exp < 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exp - 1), '0');
    out += digits;
    return out;
  }
  const auto int_digits = static_cast<std::size_t>(exp) + 1;
  if (digits.size() <= int_digits) {
    out += digits;
    out.append(int_digits - digits.size(), '0');
    out += ".0";
  } else {
    out += digits.substr(0, int_digits);
    out += '.';
    out += digits.substr(int_digits);
  }
  return out;
}

}  // namespace

std::optional<std::string_view> PrometheusSample::label(std::string_view name) const {
  for (const auto& [k, v] : labels)
    if (k == name) return std::string_view(v);
  return std::nullopt;
}

PrometheusText parse_prometheus_text(std::string_view text) {
  PrometheusText out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t i = 0;
    skip_blanks(line, i);
    if (i == line.size()) continue;
    if (line[i] == '#') {
      parse_comment(line.substr(i), out);
      continue;
    }
    if (auto sample = parse_sample_line(line))
      out.samples.push_back(std::move(*sample));
    else
      out.bad_lines.push_back(line_no);
  }
  return out;
}

std::vector<const PrometheusSample*> find_samples(const PrometheusText& text,
                                                  std::string_view name) {
  std::vector<const PrometheusSample*> found;
  for (const auto& s : text.samples)
    if (s.name == name) found.push_back(&s);
  return found;
}

std::string format_prometheus_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::string s = python_repr(v);
  // prometheus_client's floatToGoString: Go switches to exponents sooner than Python.
  const std::size_t dot = s.find('.');
  if (v > 0 && dot != std::string::npos && dot > 6) {
    std::string mantissa = s.substr(0, 1) + "." + s.substr(1, dot - 1) + s.substr(dot + 1);
    while (!mantissa.empty() && (mantissa.back() == '0' || mantissa.back() == '.'))
      mantissa.pop_back();
    return mantissa + "e+0" + std::to_string(dot - 1);
  }
  return s;
}

PrometheusHistogram::PrometheusHistogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {
  std::sort(bounds_.begin(), bounds_.end());
}

void PrometheusHistogram::observe(double value) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
  ++count_;
  sum_ += value;
}

std::uint64_t PrometheusHistogram::cumulative_count(std::size_t i) const {
  std::uint64_t total = 0;
  for (std::size_t b = 0; b <= i && b < counts_.size(); ++b) total += counts_[b];
  return total;
}

void PrometheusWriter::family(std::string_view name, std::string_view help, std::string_view type) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += help;
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void PrometheusWriter::sample(std::string_view name, const Labels& labels, double value) {
  out_ += name;
  if (!labels.empty()) {
    std::vector<const std::pair<std::string, std::string>*> sorted;
    for (const auto& l : labels) sorted.push_back(&l);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
    out_ += '{';
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      if (i) out_ += ',';
      out_ += sorted[i]->first;
      out_ += "=\"";
      append_escaped(out_, sorted[i]->second);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += format_prometheus_value(value);
  out_ += '\n';
}

void PrometheusWriter::gauge(std::string_view name, std::string_view help, const Labels& labels,
                             double value) {
  family(name, help, "gauge");
  sample(name, labels, value);
}

void PrometheusWriter::counter(std::string_view base, std::string_view help,
                               const std::vector<std::pair<Labels, double>>& values,
                               double created_unix) {
  const std::string total = std::string(base) + "_total";
  const std::string created = std::string(base) + "_created";
  family(total, help, "counter");
  for (const auto& [labels, value] : values) sample(total, labels, value);
  family(created, help, "gauge");
  for (const auto& [labels, value] : values) sample(created, labels, created_unix);
}

void PrometheusWriter::histogram(std::string_view name, std::string_view help, const Labels& labels,
                                 const PrometheusHistogram& h, double created_unix) {
  const std::string n(name);
  family(n, help, "histogram");
  Labels with_le = labels;
  with_le.emplace_back("le", "");
  for (std::size_t i = 0; i <= h.upper_bounds().size(); ++i) {
    with_le.back().second = i < h.upper_bounds().size()
                                ? format_prometheus_value(h.upper_bounds()[i])
                                : std::string("+Inf");
    sample(n + "_bucket", with_le, static_cast<double>(h.cumulative_count(i)));
  }
  sample(n + "_count", labels, static_cast<double>(h.count()));
  sample(n + "_sum", labels, h.sum());
  family(n + "_created", help, "gauge");
  sample(n + "_created", labels, created_unix);
}

}  // namespace agentsched::http
