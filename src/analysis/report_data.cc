#include "analysis/report_data.h"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "analysis/report_data_embedded.h"
#include "core/toml_parse.h"

namespace agentsched::analysis {

namespace {

Result<double> positive_number(const toml::table& t, std::string_view key, std::string_view where) {
  const toml::node* n = t.get(key);
  if (!n) return make_error(fmt::format("{}: missing '{}'", where, key));
  const auto v = n->value<double>();
  if (!v || !std::isfinite(*v) || *v <= 0)
    return make_error(fmt::format("{}: '{}' must be a positive number", where, key));
  return *v;
}

Status only_keys(const toml::table& t, std::initializer_list<std::string_view> keys,
                 std::string_view where) {
  for (const auto& [k, v] : t) {
    bool known = false;
    for (std::string_view key : keys) known |= k.str() == key;
    if (!known) return make_error(fmt::format("{}: unknown key '{}'", where, k.str()));
  }
  return Ok{};
}

}  // namespace

Result<ReferenceStudy> parse_reference_study(std::string_view toml_text, std::string_view origin) {
  auto parsed = parse_toml(toml_text, origin);
  if (!parsed) return parsed.error();
  const toml::table& root = *parsed;
  if (auto st = only_keys(root, {"result", "call_latency_ms"}, origin); !st) return st.error();
  ReferenceStudy study;
  const toml::array* results = root["result"].as_array();
  if (!results || results->empty())
    return make_error(fmt::format("{}: no [[result]] tables", origin));
  std::set<std::pair<std::string, long>> seen;
  for (std::size_t i = 0; i < results->size(); ++i) {
    const std::string where = fmt::format("{}: result {}", origin, i + 1);
    const toml::table* t = (*results)[i].as_table();
    if (!t) return make_error(where + ": not a table");
    if (auto st = only_keys(*t, {"system", "concurrency", "tasks_per_min", "steps_per_s"}, where);
        !st)
      return st.error();
    ReferenceResult r;
    const auto system = (*t)["system"].value<std::string>();
    if (!system || system->empty()) return make_error(where + ": 'system' must be a name");
    r.system = *system;
    const auto c = (*t)["concurrency"].value<std::int64_t>();
    if (!c || *c < 1 || *c > 1000000)
      return make_error(where + ": 'concurrency' must be a positive integer");
    r.concurrency = static_cast<int>(*c);
    auto tasks = positive_number(*t, "tasks_per_min", where);
    if (!tasks) return tasks.error();
    auto steps = positive_number(*t, "steps_per_s", where);
    if (!steps) return steps.error();
    r.tasks_per_min = *tasks;
    r.steps_per_s = *steps;
    if (!seen.emplace(r.system, r.concurrency).second)
      return make_error(
          fmt::format("{}: {} at concurrency {} given twice", where, r.system, r.concurrency));
    study.results.push_back(std::move(r));
  }
  const toml::table* lat = root["call_latency_ms"].as_table();
  if (!lat) return make_error(fmt::format("{}: no [call_latency_ms] table", origin));
  const std::string where = fmt::format("{}: [call_latency_ms]", origin);
  if (auto st =
          only_keys(*lat, {"p10", "p50", "p90", "p99", "max", "decode_p50", "prefill_p50"}, where);
      !st)
    return st.error();
  ReferenceCallLatencies& l = study.call_latency_ms;
  for (auto [key, field] : {std::pair{"p10", &l.p10},
                            {"p50", &l.p50},
                            {"p90", &l.p90},
                            {"p99", &l.p99},
                            {"max", &l.max},
                            {"decode_p50", &l.decode_p50},
                            {"prefill_p50", &l.prefill_p50}}) {
    auto v = positive_number(*lat, key, where);
    if (!v) return v.error();
    *field = *v;
  }
  if (!(l.p10 <= l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max))
    return make_error(where + ": quantiles out of order (p10 <= p50 <= p90 <= p99 <= max)");
  return study;
}

Result<ReferenceStudy> builtin_reference_study() {
  return parse_reference_study(embedded_reference_study_toml(), "data/reference-study.toml");
}

Result<TextTemplate> TextTemplate::parse(std::string_view text, std::string origin) {
  TextTemplate t;
  t.origin_ = std::move(origin);
  std::string* current = nullptr;
  std::size_t line_no = 0;
  bool first_line_of_section = false;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (line.starts_with("@@ ")) {
      const std::string name(line.substr(3));
      if (name.empty() || name.find(' ') != std::string::npos)
        return make_error(fmt::format("{}:{}: bad section name '{}'", t.origin_, line_no, name));
      auto [it, inserted] = t.sections_.emplace(name, std::string());
      if (!inserted)
        return make_error(fmt::format("{}:{}: section '{}' given twice", t.origin_, line_no, name));
      current = &it->second;
      first_line_of_section = true;
      continue;
    }
    if (!current) continue;  // the file's own comment, before the first section
    // The newline before the next "@@" line belongs to that line, not to the section.
    if (!first_line_of_section) *current += '\n';
    *current += line;
    first_line_of_section = false;
  }
  if (t.sections_.empty()) return make_error(fmt::format("{}: no sections", t.origin_));
  return t;
}

Result<std::string> TextTemplate::fill(std::string_view name,
                                       const std::map<std::string, std::string>& values) const {
  const auto it = sections_.find(name);
  if (it == sections_.end()) return make_error(fmt::format("{}: no section '{}'", origin_, name));
  const std::string& text = it->second;
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const auto open = text.find("{{", pos);
    if (open == std::string::npos) break;
    const auto close = text.find("}}", open + 2);
    if (close == std::string::npos)
      return make_error(fmt::format("{}: section '{}': unclosed '{{{{'", origin_, name));
    const std::string key = text.substr(open + 2, close - open - 2);
    const auto v = values.find(key);
    if (v == values.end())
      return make_error(
          fmt::format("{}: section '{}': no value for '{{{{{}}}}}'", origin_, name, key));
    out.append(text, pos, open - pos);
    out += v->second;
    pos = close + 2;
  }
  out.append(text, pos, std::string::npos);
  return out;
}

Result<TextTemplate> builtin_fidelity_template() {
  return TextTemplate::parse(embedded_fidelity_report_md(), "data/fidelity-report.md");
}

}  // namespace agentsched::analysis
