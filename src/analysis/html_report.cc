#include "analysis/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "analysis/latency.h"
#include "analysis/plot.h"
#include "analysis/task_time.h"
#include "core/time_format.h"
#include "record/run_layout.h"

namespace agentsched::analysis {

namespace {

// Laptop first (one readable column, wide tables scroll inside their box), and a print style
// that keeps tables and charts whole on a page and starts each run on a new one.
constexpr const char* kStyle = R"css(
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b;
  background: #fff; margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.6em; margin: 0.4em 0 0.1em; }
h2 { font-size: 1.3em; margin: 1.6em 0 0.5em; border-bottom: 2px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 1.08em; margin: 1.2em 0 0.4em; }
.subtitle { color: #555; margin: 0 0 0.8em; }
nav.toc { background: #f6f7f9; border: 1px solid #e2e4e8; border-radius: 6px; padding: 8px 14px;
  font-size: 0.92em; }
nav.toc a { margin-right: 10px; white-space: nowrap; }
nav.toc .run-links { margin-top: 4px; font-size: 0.95em; color: #555; }
a { color: #1f5fa8; }
.table-box { overflow-x: auto; margin: 0 0 1em; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 0.92em; }
th, td { border: 1px solid #d6d9de; padding: 3px 9px; text-align: right; white-space: nowrap; }
th { background: #f0f2f5; }
td:first-child, th:first-child { text-align: left; }
td.text, th.text { text-align: left; white-space: normal; }
td.verdict { text-align: left; font-weight: 600; }
td.tie { background: #fff6d6; font-weight: 600; }
td.tie::before { content: "\2248\00a0"; color: #8a6d00; }
tr.whole-run td:first-child { font-style: italic; }
.caption { font-weight: 600; margin: 0.2em 0; }
.note { color: #555; font-size: 0.9em; margin: 0.2em 0 0.8em; }
figure { margin: 0.6em 0 1.4em; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { font-weight: 600; margin-bottom: 4px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0.4em 0 1em;
  font-size: 0.92em; }
dl.facts dt { color: #555; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
section.run { border-top: 1px solid #e2e4e8; margin-top: 1.4em; }
.error { color: #a00000; font-weight: 600; }
.legend-tie { background: #fff6d6; padding: 0 4px; }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  a { color: inherit; text-decoration: none; }
  .table-box { overflow: visible; }
  table, figure, dl.facts { break-inside: avoid; }
  h2, h3, .caption { break-after: avoid; }
  section.run { break-before: page; border-top: none; }
  section.run:first-of-type { break-before: auto; }  /* stays with the "Runs" heading */
  td.tie, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)css";

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

void append_key_values(std::string& html, const std::vector<HtmlKeyValue>& items) {
  html += "<dl class=\"facts\">\n";
  for (const auto& kv : items)
    html += fmt::format("<dt>{}</dt><dd>{}</dd>\n", escape_html(kv.key), escape_html(kv.value));
  html += "</dl>\n";
}

void append_table(std::string& html, const HtmlTable& table) {
  if (!table.title.empty())
    html += fmt::format("<p class=\"caption\">{}</p>\n", escape_html(table.title));
  html += "<div class=\"table-box\"><table>\n<thead><tr>";
  for (std::size_t i = 0; i < table.header.size(); ++i)
    html += fmt::format("<th{}>{}</th>",
                        static_cast<int>(i) == table.verdict_column ? " class=\"text\"" : "",
                        escape_html(table.header[i]));
  html += "</tr></thead>\n<tbody>\n";
  for (const auto& row : table.rows) {
    const bool whole = !row.empty() && row[0].find("(whole run)") != std::string::npos;
    html += whole ? "<tr class=\"whole-run\">" : "<tr>";
    for (std::size_t i = 0; i < row.size(); ++i) {
      std::string cls;
      if (static_cast<int>(i) == table.verdict_column)
        cls = starts_with(row[i], "tie") ? "verdict tie" : "verdict";
      else if (starts_with(row[i], "tie"))
        cls = "tie";
      else if (i > 0 && !row[i].empty() && std::isalpha(static_cast<unsigned char>(row[i][0])) &&
               row[i] != "n/a")
        cls = "text";  // words (a task id, a call name) read better from the left
      html += fmt::format("<td{}>{}</td>", cls.empty() ? "" : " class=\"" + cls + "\"",
                          escape_html(row[i]));
    }
    html += "</tr>\n";
  }
  html += "</tbody></table></div>\n";
  if (!table.note.empty())
    html += fmt::format("<p class=\"note\">{}</p>\n", escape_html(table.note));
}

}  // namespace

std::string escape_html(std::string_view text) {
  return escape_markup(text);
}

std::string render_html_report(const HtmlReport& report) {
  std::string html;
  html.reserve(64 * 1024);
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += fmt::format("<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n",
                      escape_html(report.title), kStyle);
  html += fmt::format("<h1>{}</h1>\n", escape_html(report.title));
  if (!report.subtitle.empty())
    html += fmt::format("<p class=\"subtitle\">{}</p>\n", escape_html(report.subtitle));

  // Spaces between the links: the only places a long list of runs may wrap.
  html +=
      "<nav class=\"toc\"><div><a href=\"#conditions\">Conditions and provenance</a> "
      "<a href=\"#comparison\">Comparison</a> <a href=\"#plots\">Plots</a> "
      "<a href=\"#runs\">Runs</a></div>\n";
  if (!report.runs.empty()) {
    html += "<div class=\"run-links\">Runs: ";
    for (std::size_t i = 0; i < report.runs.size(); ++i)
      html += fmt::format("<a href=\"#run-{}\">{}</a> ", i + 1, escape_html(report.runs[i].name));
    html += "</div>\n";
  }
  html += "</nav>\n";

  html += "<section id=\"conditions\">\n<h2>Run conditions and provenance</h2>\n";
  append_key_values(html, report.conditions);
  for (const auto& note : report.notes)
    html += fmt::format("<p class=\"note\">{}</p>\n", escape_html(note));
  html += "</section>\n";

  html += "<section id=\"comparison\">\n<h2>Comparison</h2>\n";
  html +=
      "<p class=\"note\">Cells: mean (min-max) over seeds. <span class=\"legend-tie\">&#8776; "
      "tie</span>: no system clears the others (equal means, or seed ranges that overlap); "
      "<i>(whole run)</i> rows hold whole-run figures because some run of the row has no active "
      "window.</p>\n";
  if (report.comparison.empty()) html += "<p class=\"note\">No table.</p>\n";
  for (const auto& table : report.comparison) append_table(html, table);
  for (const auto& note : report.comparison_notes)
    html += fmt::format("<p class=\"note\">{}</p>\n", escape_html(note));
  html += "</section>\n";

  html += "<section id=\"plots\">\n<h2>Plots</h2>\n";
  if (report.figures.empty()) html += "<p class=\"note\">No chart.</p>\n";
  for (const auto& figure : report.figures) {
    html += figure.id.empty() ? std::string("<figure>\n")
                              : fmt::format("<figure id=\"{}\">\n", escape_html(figure.id));
    html += fmt::format("<figcaption>{}</figcaption>\n", escape_html(figure.title));
    html += figure.svg;
    if (!figure.note.empty())
      html += fmt::format("<p class=\"note\">{}</p>\n", escape_html(figure.note));
    html += "</figure>\n";
  }
  html += "</section>\n";

  html += "<section id=\"runs\">\n<h2>Runs</h2>\n";
  if (report.runs.empty()) html += "<p class=\"note\">No run.</p>\n";
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    const HtmlRunSection& run = report.runs[i];
    html += fmt::format("<section class=\"run\" id=\"run-{}\">\n<h3>{}</h3>\n", i + 1,
                        escape_html(run.name));
    if (!run.error.empty()) {
      html += fmt::format("<p class=\"error\">not analysed: {}</p>\n</section>\n",
                          escape_html(run.error));
      continue;
    }
    append_key_values(html, run.facts);
    if (!run.kv_svg.empty()) html += "<figure>\n" + run.kv_svg + "</figure>\n";
    for (const auto& table : run.tables) append_table(html, table);
    if (!run.provenance.empty()) {
      html +=
          "<p class=\"caption\">Provenance of this run (what the runs do not share; the rest "
          "is under Run conditions)</p>\n";
      append_key_values(html, run.provenance);
    }
    html += "</section>\n";
  }
  html += "</section>\n</main>\n</body>\n</html>\n";
  return html;
}

std::vector<HtmlTable> tables_from_markdown(std::string_view markdown,
                                            std::vector<std::string>* notes) {
  std::vector<HtmlTable> tables;
  std::string pending_title;
  HtmlTable* open = nullptr;
  std::size_t row_in_table = 0;
  auto split_row = [](std::string_view line) {
    std::vector<std::string> cells;
    line = line.substr(1);  // the leading '|'
    if (!line.empty() && line.back() == '|') line.remove_suffix(1);
    std::size_t start = 0;
    while (true) {
      const auto bar = line.find('|', start);
      cells.push_back(trim(line.substr(start, bar - start)));
      if (bar == std::string_view::npos) break;
      start = bar + 1;
    }
    return cells;
  };
  std::size_t pos = 0;
  while (pos <= markdown.size()) {
    auto eol = markdown.find('\n', pos);
    if (eol == std::string_view::npos) eol = markdown.size();
    const std::string line = trim(markdown.substr(pos, eol - pos));
    pos = eol + 1;
    if (starts_with(line, "|")) {
      if (!open) {
        tables.push_back({});
        open = &tables.back();
        open->title = pending_title;
        pending_title.clear();
        row_in_table = 0;
      }
      auto cells = split_row(line);
      if (row_in_table == 0) {
        open->header = cells;
        for (std::size_t i = 0; i < cells.size(); ++i)
          if (cells[i] == "best") open->verdict_column = static_cast<int>(i);
      } else if (row_in_table > 1) {  // row 1 is the |---| rule
        open->rows.push_back(std::move(cells));
      }
      ++row_in_table;
      continue;
    }
    open = nullptr;
    if (line.empty()) continue;
    if (starts_with(line, "### ")) {
      pending_title = line.substr(4);
    } else if (starts_with(line, "#")) {
      // Page-level headings: the page has its own.
    } else if (!tables.empty() && tables.back().note.empty() && starts_with(line, "(")) {
      tables.back().note = line;  // a table's footnote, e.g. "(whole run): ..."
    } else if (notes) {
      notes->push_back(line);
    }
  }
  return tables;
}

namespace {

std::string json_text(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_array()) {
    std::string out;
    for (const auto& item : v.get_array()) {
      if (!out.empty()) out += ' ';
      out += json_text(item);
    }
    return out;
  }
  return boost::json::serialize(v);
}

// "provenance" of <run>/agentsched/config.json, flattened: "profile.sha256" -> "ab12...".
std::vector<HtmlKeyValue> read_provenance(const std::filesystem::path& run_dir) {
  std::ifstream in(run_dir / run_layout::kConfigJson, std::ios::binary);
  if (!in) return {};
  std::stringstream buffer;
  buffer << in.rdbuf();
  boost::system::error_code ec;
  const boost::json::value root = boost::json::parse(buffer.str(), ec);
  if (ec || !root.is_object()) return {};
  const auto* provenance = root.get_object().if_contains("provenance");
  if (!provenance || !provenance->is_object()) return {};
  std::vector<HtmlKeyValue> out;
  for (const auto& [key, value] : provenance->get_object()) {
    if (value.is_object()) {
      for (const auto& [sub_key, sub_value] : value.get_object())
        out.push_back({std::string(key) + "." + std::string(sub_key), json_text(sub_value)});
    } else {
      out.push_back({std::string(key), json_text(value)});
    }
  }
  return out;
}

std::string fixed(double v, int decimals) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, decimals) : std::string("n/a");
}

HtmlTable latency_table(const LatencyReport& latency, const std::string& scope) {
  HtmlTable t;
  t.title = "Call latency (s), " + scope + ", from " + latency.source_file.filename().string();
  t.header = {"call", "n", "mean", "p50", "p90", "p99", "max"};
  for (const auto& [name, s] :
       {std::pair{"llm_call", &latency.llm_call}, std::pair{"user_sim", &latency.user_sim},
        std::pair{"expert_call", &latency.expert_call}}) {
    if (s->n == 0) continue;
    t.rows.push_back({name, fmt::format("{}", s->n), fixed(s->mean / 1e3, 2),
                      fixed(s->p50 / 1e3, 2), fixed(s->p90 / 1e3, 2), fixed(s->p99 / 1e3, 2),
                      fixed(s->max / 1e3, 2)});
  }
  t.note = fmt::format("llm_calls over 300 s: {}; over 1200 s: {}", latency.llm_calls_over_300s,
                       latency.llm_calls_over_1200s);
  if (!latency.source_note.empty()) t.note += "; " + latency.source_note;
  return t;
}

HtmlTable task_time_table(const TaskTimeReport& r) {
  HtmlTable t;
  t.title = "Task completion time (s): first request to FINISHED SIMULATION";
  t.header = {"scope", "tasks", "mean", "p50", "p90", "p99", "max"};
  auto row = [](const std::string& scope, const TaskTimeStats& s) {
    return std::vector<std::string>{scope,
                                    fmt::format("{}", s.n),
                                    fixed(s.mean_s, 1),
                                    fixed(s.p50_s, 1),
                                    fixed(s.p90_s, 1),
                                    fixed(s.p99_s, 1),
                                    fixed(s.max_s, 1)};
  };
  t.rows.push_back(row("whole run", r.whole_run));
  if (r.has_window) t.rows.push_back(row("finished in the active window", r.window));
  t.note = fmt::format("failed tasks: {}; tasks without a measurable start or end: {}", r.failed,
                       r.unmeasured);
  return t;
}

HtmlTable slowest_table(const LatencyReport& latency, const std::string& scope) {
  HtmlTable t;
  t.title = fmt::format("Slowest llm_calls, {}", scope);
  t.header = {"#", "ended (UTC)", "seconds", "task", "step"};
  for (std::size_t i = 0; i < latency.slowest_llm_calls.size(); ++i) {
    const SlowCall& c = latency.slowest_llm_calls[i];
    t.rows.push_back({fmt::format("{}", i + 1), format_datetime_ms(c.unix_time),
                      fixed(c.duration_ms / 1e3, 2), c.task,
                      c.step >= 0 ? fmt::format("{}", c.step) : std::string("-")});
  }
  return t;
}

std::string run_name(const std::filesystem::path& dir, const std::filesystem::path& base) {
  if (!base.empty()) {
    const auto relative = dir.lexically_normal().lexically_relative(base.lexically_normal());
    if (!relative.empty() && *relative.begin() != "..") return relative.generic_string();
  }
  auto name = dir.lexically_normal().filename();
  if (name.empty()) name = dir.lexically_normal().parent_path().filename();
  return name.empty() ? dir.string() : name.string();
}

HtmlRunSection run_section(const MatrixRunFigures& f, double threshold_percent,
                           const std::filesystem::path& base) {
  HtmlRunSection section;
  section.name = run_name(f.run.dir, base);
  if (!f.ok) {
    section.error = f.error;
    return section;
  }
  auto& facts = section.facts;
  facts.push_back({"system, concurrency, seed",
                   fmt::format("{}, {}, {}", f.run.system, f.run.concurrency, f.run.seed)});
  if (f.has_window) {
    facts.push_back({"active window", fmt::format("{} .. {} UTC ({:.0f} s, KV usage > {:g}%)",
                                                  format_datetime(f.window_start_unix),
                                                  format_datetime(f.window_end_unix), f.window_s,
                                                  threshold_percent)});
    facts.push_back({"tasks/min, steps/s (window)",
                     fmt::format("{}, {}", fixed(f.tasks_per_min, 2), fixed(f.steps_per_s, 2))});
  } else {
    facts.push_back({"active window", fmt::format("none: no KV sample above {:g}%; the figures "
                                                  "below are over the whole run",
                                                  threshold_percent)});
  }
  facts.push_back({"tasks ok, failed", fmt::format("{}, {}", f.tasks_ok, f.tasks_error)});
  facts.push_back({"elapsed; tasks/min, steps/s (whole run)",
                   fmt::format("{:.0f} s; {}, {}", f.elapsed_s, fixed(f.whole_tasks_per_min, 2),
                               fixed(f.whole_steps_per_s, 2))});

  KvPlotOptions kv;
  kv.threshold_percent = threshold_percent;
  kv.title = "KV cache usage, " + section.name;
  if (auto chart = render_kv_grid({{section.name, "", "", f.run.dir}}, kv); chart)
    section.kv_svg = std::move(chart->svg);
  else
    facts.push_back({"KV plot", "not drawn: " + chart.error().message});

  const std::string scope = f.has_window ? "active window" : "whole run";
  auto latency = f.has_window
                     ? analyze_latencies_in(f.run.dir, f.window_start_unix, f.window_end_unix)
                     : analyze_latencies(f.run.dir, threshold_percent, LatencyScope::kWholeRun);
  if (latency) {
    section.tables.push_back(latency_table(*latency, scope));
  } else {
    facts.push_back({"latencies", "not read: " + latency.error().message});
  }
  if (auto tasks = analyze_task_times(f.run.dir, threshold_percent); tasks)
    section.tables.push_back(task_time_table(*tasks));
  else
    facts.push_back({"task completion", "not read: " + tasks.error().message});
  if (latency && !latency->slowest_llm_calls.empty())
    section.tables.push_back(slowest_table(*latency, scope));
  section.provenance = read_provenance(f.run.dir);
  return section;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

Result<HtmlReport> collect_matrix_report(const MatrixSummary& summary,
                                         const HtmlReportInput& input) {
  HtmlReport report;
  report.title = input.title;
  report.subtitle = input.subtitle;
  report.conditions = input.conditions;

  std::vector<std::string> systems, concurrencies, seeds;
  auto add_unique = [](std::vector<std::string>& list, std::string value) {
    if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(std::move(value));
  };
  std::size_t failed = 0;
  for (const auto& f : summary.runs) {
    add_unique(systems, f.run.system);
    add_unique(concurrencies, fmt::format("{}", f.run.concurrency));
    add_unique(seeds, fmt::format("{}", f.run.seed));
    if (!f.ok) ++failed;
  }
  report.conditions.push_back(
      {"active window", fmt::format("KV cache usage above {:g}%", summary.threshold_percent)});
  report.conditions.push_back({"systems", join(systems)});
  report.conditions.push_back({"concurrency", join(concurrencies)});
  report.conditions.push_back({"seeds", join(seeds)});
  report.conditions.push_back(
      {"runs", failed ? fmt::format("{} ({} not analysed)", summary.runs.size(), failed)
                      : fmt::format("{}", summary.runs.size())});

  // Provenance shared by every run is stated once here; what differs is in each run's section.
  std::vector<std::vector<HtmlKeyValue>> provenances;
  for (const auto& f : summary.runs) provenances.push_back(read_provenance(f.run.dir));
  std::vector<std::string> keys, shared_keys;
  for (const auto& p : provenances)
    for (const auto& kv : p) add_unique(keys, kv.key);
  for (const auto& key : keys) {
    std::vector<std::string> values;
    for (const auto& p : provenances) {
      auto it =
          std::find_if(p.begin(), p.end(), [&](const HtmlKeyValue& kv) { return kv.key == key; });
      add_unique(values, it == p.end() ? std::string("(absent)") : it->value);
    }
    report.conditions.push_back(
        {key, values.size() == 1
                  ? values[0]
                  : fmt::format("{} different values (see each run)", values.size())});
    if (values.size() == 1) shared_keys.push_back(key);
  }
  if (keys.empty())
    report.conditions.push_back(
        {"provenance",
         "none recorded in the runs' agentsched/config.json (the reference's runs "
         "have no such file)"});

  report.comparison = tables_from_markdown(
      input.summary_markdown.empty() ? summary.markdown : input.summary_markdown,
      &report.comparison_notes);

  if (input.matrix_charts) {
    auto plots = render_matrix_plots(summary);
    if (plots) {
      report.figures.push_back({"fig-throughput",
                                "Throughput: mean per system and concurrency, "
                                "min-max over seeds",
                                std::move(plots->throughput.svg), ""});
      report.figures.push_back(
          {"fig-latency", "llm_call latency distribution", std::move(plots->latency.svg), ""});
      report.figures.push_back(
          {"fig-kv", "KV cache usage over time, all runs", std::move(plots->kv_usage.svg), ""});
    } else {
      report.notes.push_back("charts not drawn: " + plots.error().message);
    }
  }
  for (const auto& figure : input.extra_figures) report.figures.push_back(figure);

  for (std::size_t i = 0; i < summary.runs.size(); ++i) {
    report.runs.push_back(
        run_section(summary.runs[i], summary.threshold_percent, input.run_names_relative_to));
    if (i < input.run_names.size()) report.runs.back().name = input.run_names[i];
    // A run's own provenance: what is not the same for every run (that is stated once above).
    auto& own = report.runs.back().provenance;
    own.erase(std::remove_if(own.begin(), own.end(),
                             [&](const HtmlKeyValue& kv) {
                               return std::find(shared_keys.begin(), shared_keys.end(), kv.key) !=
                                      shared_keys.end();
                             }),
              own.end());
  }
  report.notes.push_back(
      "KV usage lines are downsampled to at most two points (the minimum and the maximum) per "
      "pixel column, so every spike stays visible; each run's kv_cache_timeseries.csv has every "
      "sample. The active window is always found on the raw samples.");
  return report;
}

Status write_html_report(const HtmlReport& report, const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << render_html_report(report);
  out.close();
  if (!out) return make_error(fmt::format("cannot write '{}'", path.string()));
  return Ok{};
}

}  // namespace agentsched::analysis
