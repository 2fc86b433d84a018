#include "analysis/limit_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <set>

#include "analysis/fidelity_report.h"
#include "analysis/plot.h"
#include "analysis/report_json.h"
#include "record/kv_csv_reader.h"
#include "record/run_layout.h"

namespace agentsched::analysis {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

json::object spread_json(const Spread& s) {
  json::object o;
  o["mean"] = json_number(s.n ? s.mean : NAN);
  o["min"] = json_number(s.n ? s.min : NAN);
  o["max"] = json_number(s.n ? s.max : NAN);
  o["runs"] = s.n;
  return o;
}

std::string fmt_spread(const Spread& s) {
  if (s.n == 0) return "n/a";
  if (s.n < 2) return fmt::format("{:.2f}", s.mean);
  return fmt::format("{:.2f} ({:.2f}-{:.2f})", s.mean, s.min, s.max);
}

std::string percent(double fraction) {
  return std::isfinite(fraction) ? fmt::format("{:.0f}%", 100 * fraction) : "n/a";
}

// Per concurrency: whole-run and window tasks/min of each run, from summarize_matrix.
struct Figures {
  std::map<int, std::vector<double>> whole, window;
};

Result<Figures> figures_of(const std::vector<MatrixRun>& runs, double threshold) {
  Figures f;
  if (runs.empty()) return f;
  auto summary = summarize_matrix(runs, threshold);
  if (!summary) return summary.error();
  for (const auto& r : summary->runs) {
    if (!r.ok)
      return make_error(fmt::format("run '{}' cannot be read: {}", r.run.dir.string(), r.error));
    f.whole[r.run.concurrency].push_back(r.whole_tasks_per_min);
    f.window[r.run.concurrency].push_back(r.has_window ? r.tasks_per_min : NAN);
  }
  return f;
}

// The cell of concurrency `c` in `f`, empty when no run has that C.
LimitCell cell_at(const Figures& f, int c) {
  LimitCell cell;
  const auto it = f.whole.find(c);
  if (it == f.whole.end()) return cell;
  cell.whole = spread_of(it->second);
  cell.runs = it->second.size();
  const std::vector<double>& window = f.window.at(c);
  for (double v : window) cell.window_runs += std::isfinite(v) ? 1 : 0;
  if (cell.window_runs == window.size()) cell.window = spread_of(window);
  return cell;
}

std::string fmt_window(const LimitCell& c) {
  if (c.window.n > 0) return fmt_spread(c.window);
  if (c.window_runs == 0) return "n/a";
  return fmt::format("n/a ({} of {} runs)", c.window_runs, c.runs);
}

// The keys of a cell in limit.json.
void put_cell(json::object& o, const LimitCell& c) {
  o["whole_tasks_per_min"] = spread_json(c.whole);
  o["window_tasks_per_min"] = spread_json(c.window);
  o["runs"] = c.runs;
  o["runs_with_window"] = c.window_runs;
}

double ratio(const Spread& a, const Spread& b) {
  return a.n && b.n && b.mean > 0 ? a.mean / b.mean : NAN;
}

}  // namespace

Result<LimitReport> make_limit_report(const LimitInput& in) {
  LimitReport report;
  report.ceiling_kv_blocks = in.ceiling_kv_blocks;
  std::set<int> concurrencies;
  for (const auto& r : in.ceiling) concurrencies.insert(r.concurrency);
  for (const auto& [cap, runs] : in.caps)
    for (const auto& r : runs) concurrencies.insert(r.concurrency);
  if (concurrencies.empty()) return make_error("sim limit: no finished runs to report");

  std::vector<std::pair<int, Figures>> caps;
  for (const auto& [cap, runs] : in.caps) {
    auto f = figures_of(runs, in.threshold_percent);
    if (!f) return f.error();
    caps.emplace_back(cap, std::move(*f));
  }
  auto ceiling = figures_of(in.ceiling, in.threshold_percent);
  if (!ceiling) return ceiling.error();
  std::map<int, double> preemptions, peak_usage;
  for (const auto& r : in.ceiling) {
    auto mech = read_run_mechanisms(r.dir);
    if (!mech) return mech.error();
    preemptions[r.concurrency] += mech->preemptions;
    auto kv = read_kv_csv(r.dir / run_layout::kKvCsv);
    if (!kv) return kv.error();
    for (const auto& s : kv->samples)
      peak_usage[r.concurrency] = std::max(peak_usage[r.concurrency], s.usage);
  }
  std::vector<std::string> system_names;
  for (const auto& r : in.systems)
    if (std::find(system_names.begin(), system_names.end(), r.system) == system_names.end())
      system_names.push_back(r.system);
  std::map<std::string, Figures> systems;
  for (const auto& name : system_names) {
    std::vector<MatrixRun> runs;
    for (const auto& r : in.systems)
      if (r.system == name) runs.push_back(r);
    auto f = figures_of(runs, in.threshold_percent);
    if (!f) return f.error();
    systems[name] = std::move(*f);
  }

  for (int c : concurrencies) {
    LimitRow row;
    row.concurrency = c;
    for (const auto& [cap, f] : caps) row.curve.push_back({cap, cell_at(f, c)});
    std::sort(row.curve.begin(), row.curve.end(),
              [](const auto& a, const auto& b) { return a.cap < b.cap; });
    for (const auto& p : row.curve) {
      if (p.tasks_per_min.whole.n == 0) continue;
      if (row.best.whole.n == 0 || p.tasks_per_min.whole.mean > row.best.whole.mean) {
        row.best_cap = p.cap;
        row.best = p.tasks_per_min;
      }
    }
    if (auto it = ceiling->whole.find(c); it != ceiling->whole.end())
      row.ceiling_whole = spread_of(it->second);
    row.ceiling_preemptions = preemptions[c];
    row.ceiling_peak_kv_usage = peak_usage[c];
    row.best_cap_of_ceiling = ratio(row.best.whole, row.ceiling_whole);
    for (const auto& name : system_names) {
      LimitSystemRow s;
      s.system = name;
      s.tasks_per_min = cell_at(systems[name], c);
      s.of_best_cap = ratio(s.tasks_per_min.whole, row.best.whole);
      s.of_ceiling = ratio(s.tasks_per_min.whole, row.ceiling_whole);
      row.systems.push_back(s);
    }
    report.rows.push_back(std::move(row));
  }

  // ---- markdown
  std::string md = "# Limits: the admission bound and the ceiling\n\n";
  if (!in.command.empty()) md += fmt::format("`{}`\n\n", in.command);
  md += fmt::format(
      "Tasks/min, mean (min-max) over seeds. *Best cap*: system `cap` (fcfs + at most `cap` "
      "programs active, FIFO admission) at the cap with the highest whole-run mean. *Ceiling*: "
      "`baseline` with {} KV blocks, so that nothing is evicted: compute is the only limit. It "
      "never fills its KV and has no active window, so systems are compared with both on "
      "whole-run figures. Active window: KV usage >= {:g}%.\n\n",
      in.ceiling_kv_blocks, in.threshold_percent);
  md +=
      "| C | best cap | best cap, whole run | best cap, window | ceiling, whole run | best cap / "
      "ceiling | ceiling preemptions | ceiling peak KV "
      "|\n|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& r : report.rows)
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {:.0f} | {:.0f}% |\n", r.concurrency,
                      r.best.whole.n ? fmt::format("{}", r.best_cap) : "n/a",
                      fmt_spread(r.best.whole), fmt_window(r.best), fmt_spread(r.ceiling_whole),
                      percent(r.best_cap_of_ceiling), r.ceiling_preemptions,
                      100 * r.ceiling_peak_kv_usage);
  if (!system_names.empty()) {
    md +=
        "\n## Systems against both lines (whole run)\n\n| C | system | whole run | window | of "
        "best "
        "cap | of ceiling |\n|---:|---|---:|---:|---:|---:|\n";
    for (const auto& r : report.rows)
      for (const auto& s : r.systems)
        md += fmt::format("| {} | {} | {} | {} | {} | {} |\n", r.concurrency, s.system,
                          fmt_spread(s.tasks_per_min.whole), fmt_window(s.tasks_per_min),
                          percent(s.of_best_cap), percent(s.of_ceiling));
  }
  md +=
      "\n## The curve: tasks/min against cap\n\n| C | cap | whole run | window |\n"
      "|---:|---:|---:|---:|\n";
  for (const auto& r : report.rows)
    for (const auto& p : r.curve)
      md += fmt::format("| {} | {}{} | {} | {} |\n", r.concurrency, p.cap,
                        p.cap == r.best_cap && r.best.whole.n ? " (best)" : "",
                        fmt_spread(p.tasks_per_min.whole), fmt_window(p.tasks_per_min));
  report.markdown = std::move(md);
  return report;
}

Status write_limit_report(const LimitReport& report, const fs::path& dir) {
  {
    std::ofstream f(dir / "limit.md");
    f << report.markdown;
    if (!f) return make_error(fmt::format("cannot write '{}'", (dir / "limit.md").string()));
  }
  json::object root;
  root["ceiling_kv_blocks"] = report.ceiling_kv_blocks;
  json::array rows;
  for (const auto& r : report.rows) {
    json::object o;
    o["concurrency"] = r.concurrency;
    o["best_cap"] = r.best.whole.n ? json::value(r.best_cap) : json::value(nullptr);
    o["best_cap_whole_tasks_per_min"] = spread_json(r.best.whole);
    o["best_cap_window_tasks_per_min"] = spread_json(r.best.window);
    o["ceiling_whole_tasks_per_min"] = spread_json(r.ceiling_whole);
    o["ceiling_preemptions"] = r.ceiling_preemptions;
    o["ceiling_peak_kv_usage"] = r.ceiling_peak_kv_usage;
    o["best_cap_of_ceiling"] = json_number(r.best_cap_of_ceiling);
    json::array curve;
    for (const auto& p : r.curve) {
      json::object c;
      c["cap"] = p.cap;
      put_cell(c, p.tasks_per_min);
      curve.push_back(std::move(c));
    }
    o["curve"] = std::move(curve);
    json::array systems;
    for (const auto& s : r.systems) {
      json::object so;
      so["system"] = s.system;
      put_cell(so, s.tasks_per_min);
      so["of_best_cap"] = json_number(s.of_best_cap);
      so["of_ceiling"] = json_number(s.of_ceiling);
      systems.push_back(std::move(so));
    }
    o["systems"] = std::move(systems);
    rows.push_back(std::move(o));
  }
  root["per_concurrency"] = std::move(rows);
  {
    std::ofstream f(dir / "limit.json");
    f << json::serialize(root) << "\n";
    if (!f) return make_error(fmt::format("cannot write '{}'", (dir / "limit.json").string()));
  }

  LineChart chart;
  chart.title = "Throughput against the admission bound (system cap)";
  chart.subtitle =
      "mean over seeds, min-max bars; dashed: the ceiling at that C (KV never runs out), whole run";
  chart.x_label = "cap (programs active per backend)";
  LinePanel whole{"tasks/min, whole run", {}};
  LinePanel window{"tasks/min, active window", {}};
  for (const auto& r : report.rows) {
    const std::string name = fmt::format("C = {}", r.concurrency);
    LineSeries w, a;
    w.name = a.name = name;
    for (const auto& p : r.curve) {
      const auto point = [&](const Spread& s) {
        return LinePoint{static_cast<double>(p.cap), s.n ? s.mean : NAN, s.n ? s.min : NAN,
                         s.n ? s.max : NAN};
      };
      w.points.push_back(point(p.tasks_per_min.whole));
      a.points.push_back(point(p.tasks_per_min.window));
    }
    whole.series.push_back(std::move(w));
    window.series.push_back(std::move(a));
  }
  // The ceilings after the curves, so the curves own the colours and the legend reads in order.
  for (const auto& r : report.rows) {
    if (r.ceiling_whole.n == 0 || r.curve.empty()) continue;
    LineSeries c;
    c.name = fmt::format("ceiling, C = {}", r.concurrency);
    c.dashed = true;
    c.color_as = fmt::format("C = {}", r.concurrency);
    c.points = {{static_cast<double>(r.curve.front().cap), r.ceiling_whole.mean},
                {static_cast<double>(r.curve.back().cap), r.ceiling_whole.mean}};
    whole.series.push_back(std::move(c));
  }
  chart.panels = {std::move(whole), std::move(window)};
  return write_line_chart(chart, dir / "limit.svg");
}

}  // namespace agentsched::analysis
