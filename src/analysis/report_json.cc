#include "analysis/report_json.h"

#include <fmt/format.h>

#include <cmath>

#include "core/time_format.h"

namespace agentsched::analysis {

namespace json = boost::json;

namespace {

json::value time_text(double unix_seconds) {
  if (!std::isfinite(unix_seconds)) return nullptr;
  return json::string(format_datetime_ms(unix_seconds));
}

json::value optional_number(const std::optional<double>& value) {
  return value ? json_number(*value) : json::value(nullptr);
}

json::array line_numbers(const std::vector<std::size_t>& numbers) {
  json::array out;
  for (auto n : numbers) out.push_back(n);
  return out;
}

void put_time(json::object& o, const char* key, const std::optional<double>& t) {
  o[std::string(key) + "_unix"] = optional_number(t);
  o[key] = t ? time_text(*t) : json::value(nullptr);
}

// Shortest text that reads back as the same double ("0.11666666666666667", "3.0",
// "279.41723483"), where Boost.JSON would write "1.1666666666666667E-1", "3E0" and
// "2.7941723483E2". Non-finite values, which JSON cannot hold, become null.
std::string number_text(double value) {
  if (!std::isfinite(value)) return "null";
  std::string text = fmt::format("{}", value);
  const auto e = text.find('e');
  if (e == std::string::npos) {
    if (text.find('.') == std::string::npos) text += ".0";
    return text;
  }
  // fmt switches to an exponent below 1e-4 and from 1e16 ("4.032e-06"): move the point
  // instead, over the same shortest digits, unless that would take more than 30 zeros.
  const int exponent = std::stoi(text.substr(e + 1));
  if (exponent < -30 || exponent > 30) return text;
  const bool negative = text[0] == '-';
  std::string digits;
  for (char c : text.substr(negative ? 1 : 0, e - (negative ? 1 : 0)))
    if (c != '.') digits += c;
  const int point = 1 + exponent;  // digits before the decimal point
  std::string plain = negative ? "-" : "";
  if (point <= 0)
    plain += "0." + std::string(static_cast<std::size_t>(-point), '0') + digits;
  else if (point >= static_cast<int>(digits.size()))
    plain += digits + std::string(static_cast<std::size_t>(point) - digits.size(), '0') + ".0";
  else
    plain += digits.substr(0, point) + "." + digits.substr(point);
  return plain;
}

// Writes `v` into `out`: with `indent` >= 0 pretty-printed (a member or element a line, two
// spaces a level, `indent` levels deep), with -1 on one line without spaces.
void write_json(std::string& out, const json::value& v, int indent) {
  const bool lines = indent >= 0;
  const auto new_line = [&](int level) {
    if (lines) out += "\n" + std::string(static_cast<std::size_t>(level) * 2, ' ');
  };
  // `{` or `[`, the items split by commas, then `}` or `]`; empty: `{}` or `[]`.
  const auto container = [&](char open, char close, const auto& items, const auto& write_item) {
    out += open;
    bool first = true;
    for (const auto& item : items) {
      if (!first) out += ',';
      first = false;
      new_line(indent + 1);
      write_item(item);
    }
    if (!items.empty()) new_line(indent);
    out += close;
  };
  const int inner = lines ? indent + 1 : -1;
  switch (v.kind()) {
    case json::kind::object:
      container('{', '}', v.get_object(), [&](const json::key_value_pair& member) {
        out += json::serialize(json::string(member.key()));
        out += lines ? ": " : ":";
        write_json(out, member.value(), inner);
      });
      return;
    case json::kind::array:
      container('[', ']', v.get_array(),
                [&](const json::value& element) { write_json(out, element, inner); });
      return;
    case json::kind::double_:
      out += number_text(v.get_double());
      return;
    default:
      out += json::serialize(v);
  }
}

}  // namespace

json::value json_number(double value) {
  if (!std::isfinite(value)) return nullptr;
  return value;
}

json::object to_json(const LogDiagnostics& log) {
  return {{"file", log.file.string()},
          {"bytes", log.bytes},
          {"lines", log.lines},
          {"garbled_lines", log.garbled_lines},
          {"first_garbled_line_numbers", line_numbers(log.first_garbled_line_numbers)},
          {"glued_lines", log.glued_lines}};
}

json::object to_json(const KvDiagnostics& kv) {
  json::array ports;
  for (int p : kv.ports) ports.push_back(p);
  return {{"file", kv.file.string()},
          {"rows", kv.rows},
          {"samples", kv.samples},
          {"nan_samples", kv.nan_samples},
          {"other_metric_rows", kv.other_metric_rows},
          {"garbled_rows", kv.garbled_rows},
          {"first_garbled_line_numbers", line_numbers(kv.first_garbled_line_numbers)},
          {"ports", std::move(ports)},
          {"samples_above_threshold", kv.samples_above_threshold},
          {"first_sample_unix", json_number(kv.first_sample_unix)},
          {"last_sample_unix", json_number(kv.last_sample_unix)},
          {"max_usage", json_number(kv.max_usage)},
          {"max_usage_unix", json_number(kv.max_usage_unix)}};
}

json::object to_json(const WindowReport& r) {
  json::object o;
  o["run_dir"] = r.run_dir.string();
  o["threshold_percent"] = r.threshold_percent;
  o["has_window"] = r.has_window;
  if (r.has_window) {
    put_time(o, "window_start", r.window_start_unix);
    put_time(o, "window_end", r.window_end_unix);
    o["window_seconds"] = r.window_seconds;
  } else {
    put_time(o, "window_start", std::nullopt);
    put_time(o, "window_end", std::nullopt);
    o["window_seconds"] = nullptr;
  }
  o["tasks_in_window"] = r.tasks_in_window;
  o["steps_in_window"] = r.steps_in_window;
  o["tasks_per_min"] = json_number(r.tasks_per_min);
  o["steps_per_s"] = json_number(r.steps_per_s);
  const std::string problem = window_problem(r);
  o["note"] = problem.empty() ? json::value(nullptr) : json::value(problem);
  o["tasks_before"] = r.tasks_before;
  o["tasks_after"] = r.tasks_after;
  o["steps_before"] = r.steps_before;
  o["steps_after"] = r.steps_after;
  o["tasks_total"] = r.tasks_total;
  o["steps_total"] = r.steps_total;
  put_time(o, "first_task", r.first_task_unix);
  put_time(o, "last_task", r.last_task_unix);
  put_time(o, "last_step", r.last_step_unix);
  o["gap_window_end_to_last_task_s"] = optional_number(r.gap_window_end_to_last_task_s);
  json::array edges;
  for (const auto& e : r.steps_by_edge) {
    edges.push_back(json::object{{"edge", e.edge},
                                 {"steps_in_window", e.steps_in_window},
                                 {"steps_per_s", json_number(e.steps_per_s)}});
  }
  o["steps_by_edge"] = std::move(edges);
  if (r.whole_run) {
    o["whole_run"] = json::object{{"ok", r.whole_run->ok},
                                  {"error", r.whole_run->error},
                                  {"total", r.whole_run->total},
                                  {"elapsed_s", r.whole_run->elapsed_s},
                                  {"tasks_per_min", r.whole_run->tasks_per_min},
                                  {"line", r.whole_run->line}};
  } else {
    o["whole_run"] = nullptr;
  }
  o["max_concurrency"] = r.max_concurrency ? json::value(*r.max_concurrency) : nullptr;
  o["total_tasks"] = r.total_tasks ? json::value(*r.total_tasks) : nullptr;
  o["driver_log"] = to_json(r.driver_log);
  o["kv"] = to_json(r.kv);
  return o;
}

json::object to_json(const LatencyStats& s) {
  return {{"n", s.n},
          {"mean_ms", json_number(s.mean)},
          {"p50_ms", json_number(s.p50)},
          {"p90_ms", json_number(s.p90)},
          {"p99_ms", json_number(s.p99)},
          {"min_ms", json_number(s.min)},
          {"max_ms", json_number(s.max)}};
}

json::object to_json(const LatencyReport& r) {
  json::array slow;
  for (const auto& call : r.slowest_llm_calls) {
    slow.push_back(json::object{{"time_unix", call.unix_time},
                                {"time", time_text(call.unix_time)},
                                {"duration_ms", call.duration_ms},
                                {"task", call.task},
                                {"step", call.step}});
  }
  return {
      {"scope", r.scope == LatencyScope::kWholeRun ? "whole_run" : "active_window"},
      {"source_file", r.source_file.string()},
      {"from_global_log", r.from_global_log},
      {"source_note", r.source_note.empty() ? json::value(nullptr) : json::value(r.source_note)},
      {"llm_call", to_json(r.llm_call)},
      {"user_sim", to_json(r.user_sim)},
      {"expert_call", to_json(r.expert_call)},
      {"llm_calls_over_300s", r.llm_calls_over_300s},
      {"llm_calls_over_1200s", r.llm_calls_over_1200s},
      {"slowest_llm_calls", std::move(slow)},
      {"source_log", to_json(r.source_log)}};
}

json::object to_json(const BottleneckReport& r) {
  return {{"window", to_json(r.window)}, {"latencies", to_json(r.latencies)}};
}

namespace {

json::object to_json(const KvSpanStats& s) {
  return {{"from_unix", json_number(s.from_unix)},
          {"to_unix", json_number(s.to_unix)},
          {"n", s.n},
          {"min", json_number(s.min)},
          {"mean", json_number(s.mean)},
          {"max", json_number(s.max)},
          {"above_threshold", s.above_threshold}};
}

json::value optional_long(const std::optional<long>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

}  // namespace

json::object to_json(const StuckReport& r) {
  json::array unfinished;
  for (const auto& t : r.unfinished) {
    unfinished.push_back(json::object{{"task", t.task},
                                      {"first_event_unix", t.first_event_unix},
                                      {"last_event_unix", t.last_event_unix},
                                      {"last_event", time_text(t.last_event_unix)},
                                      {"last_event_type", t.last_event_type},
                                      {"last_step", t.last_step},
                                      {"steps", t.steps}});
  }
  json::array around;
  for (const auto& s : r.samples_around) {
    around.push_back(json::object{{"time_unix", s.unix_time},
                                  {"time", time_text(s.unix_time)},
                                  {"port", s.port},
                                  {"usage", s.usage}});
  }
  json::object o{{"run_dir", r.run_dir.string()},
                 {"threshold_percent", r.threshold_percent},
                 {"expected_total", optional_long(r.expected_total)},
                 {"tasks_finished", r.tasks_finished},
                 {"tasks_ended", r.tasks_ended},
                 {"tasks_errored", r.tasks_errored},
                 {"tasks_missing", optional_long(r.tasks_missing)},
                 {"never_started", optional_long(r.never_started)},
                 {"unfinished", std::move(unfinished)},
                 {"run_completed", r.run_completed},
                 {"events_after_last_good_task", r.events_after_last_good_task},
                 {"steps_after_last_good_task", r.steps_after_last_good_task},
                 {"around_seconds", r.around_seconds},
                 {"samples_around", std::move(around)},
                 {"kv_around", to_json(r.kv_around)},
                 {"kv_during_stall", to_json(r.kv_during_stall)},
                 {"stall_seconds", optional_number(r.stall_seconds)},
                 {"diagnosis", r.diagnosis},
                 {"driver_log", to_json(r.driver_log)},
                 {"kv", to_json(r.kv)}};
  put_time(o, "last_good_task", r.last_good_task_unix);
  put_time(o, "last_step", r.last_step_unix);
  put_time(o, "last_event", r.last_event_unix);
  return o;
}

json::object to_json(const RunManifest& m) {
  json::array files;
  for (const auto& f : m.files) {
    files.push_back(json::object{{"role", f.role},
                                 {"path", f.path.string()},
                                 {"present", f.present},
                                 {"bytes", f.bytes},
                                 {"lines", f.lines},
                                 {"sha256", f.present ? json::value(f.sha256) : nullptr}});
  }
  return {{"name", m.name},
          {"run_dir", m.run_dir.string()},
          {"files", std::move(files)},
          {"summary_line", m.summary_line ? json::value(*m.summary_line) : nullptr}};
}

json::object to_json(const CompareTable& t) {
  json::array systems;
  for (const auto& s : t.systems) systems.push_back(json::string(s));
  json::array rows;
  for (int c : t.concurrencies) {
    // Values are the cell means (the single value with one seed); ranges sit beside them.
    json::object tasks, steps, tasks_range, steps_range;
    auto range = [](const Spread& s) {
      return json::object{{"min", json_number(s.min)}, {"max", json_number(s.max)}, {"n", s.n}};
    };
    for (const auto& s : t.systems) {
      const bool present = t.find(c, s) != nullptr;
      const Spread ts = t.cell(c, s, false), ss = t.cell(c, s, true);
      tasks[s] = present ? json_number(ts.mean) : nullptr;
      steps[s] = present ? json_number(ss.mean) : nullptr;
      tasks_range[s] = present ? json::value(range(ts)) : nullptr;
      steps_range[s] = present ? json::value(range(ss)) : nullptr;
    }
    rows.push_back(json::object{{"concurrency", c},
                                {"scope", t.row_whole_run(c) ? "whole_run" : "active_window"},
                                {"tasks_per_min", std::move(tasks)},
                                {"steps_per_s", std::move(steps)},
                                {"tasks_per_min_range", std::move(tasks_range)},
                                {"steps_per_s_range", std::move(steps_range)},
                                {"winner_tasks_per_min", t.winner(c, false)},
                                {"winner_steps_per_s", t.winner(c, true)}});
  }
  json::array runs;
  for (const auto& e : t.entries) {
    json::object run{
        {"name", e.name},
        {"system", e.system},
        {"concurrency", e.concurrency},
        {"seed", e.seed ? json::value(*e.seed) : nullptr},
        {"run_dir", e.dir.string()},
        {"tasks_per_min", json_number(e.tasks_per_min)},
        {"steps_per_s", json_number(e.steps_per_s)},
        {"whole_run_tasks_per_min", json_number(e.whole_tasks_per_min)},
        {"whole_run_steps_per_s", json_number(e.whole_steps_per_s)},
        {"problem", e.problem.empty() ? json::value(nullptr) : json::value(e.problem)}};
    if (e.report) run["window"] = to_json(*e.report);
    runs.push_back(std::move(run));
  }
  return {{"threshold_percent", t.threshold_percent},
          {"systems", std::move(systems)},
          {"seeds", t.seed_count},
          {"rows", std::move(rows)},
          {"runs", std::move(runs)}};
}

std::string compact_json(const json::value& value) {
  std::string out;
  write_json(out, value, -1);
  return out;
}

std::string pretty_json(const json::value& value) {
  std::string out;
  write_json(out, value, 0);
  out += "\n";
  return out;
}

}  // namespace agentsched::analysis
